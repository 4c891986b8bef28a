"""PyTorch frontends: the papers' models, run on real inputs, exported as archsim traces.

torch is imported here and never by the ``archsim`` package itself.
"""


def __getattr__(name):
    # ``workloads.trace(model, example_input, ...)``: imported on first use (it imports torch)
    if name == "trace":
        from workloads.capture import trace
        return trace
    raise AttributeError(f"module 'workloads' has no attribute {name!r}")
