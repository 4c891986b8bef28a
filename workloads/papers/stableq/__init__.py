"""StableQ (data-scarce quantisation, arXiv 2312.05272): the study (``study.py``: the FP
ResNet-18 trained here, calibration data of three kinds, W4A4 / W2A4 post-training quantisation,
the traces), the CNN quantiser with BN folding and BN-statistics inversion (``cnn.py``) and the
quantised CNN's trace export (``export.py``); the generic quantisers are :mod:`workloads.quant`.
See docs/workloads/stableq.md."""
