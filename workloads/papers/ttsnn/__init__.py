"""TT-SNN (Lee et al., DATE 2024, arXiv 2401.08001): the spiking ResNet-18 with tensor-train
decomposed 3x3 convs and its STT / PTT / HTT schedules (``model.py``, with the registry's
builder), the TT-SVD of a conv weight (``decompose.py``) and the EVBMF rank estimate
(``vbmf.py``, numpy only); see docs/workloads/ttsnn.md."""
