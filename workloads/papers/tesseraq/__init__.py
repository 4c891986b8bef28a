"""TesseraQ (Li et al., arXiv 2410.19103; progressive rounding of LLM weights): the study
(``study.py``: SmolLM2-135M quantised by round-to-nearest and progressive rounding, perplexity,
traces), the SmolLM2 loader (``smollm2.py``) and the quantisation of a Llama-style model layer by
layer (``llm.py``); the progressive rounding itself is shared (:mod:`workloads.quant.progressive`,
StableQ uses it too). See docs/workloads/tesseraq.md."""
