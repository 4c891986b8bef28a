"""The small ViT the TReX and ClipFormer studies share: trained here on Fashion-MNIST and cached
(``small_vit.py``), its trace export with the ViT capture rules (``trace.py``) and the main job's
vision-transformer step that runs both studies (``studies.py``). The ViT model itself is
:mod:`workloads.models.vit` (PCL and the noise adapter use it too)."""
