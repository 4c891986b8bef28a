"""PyTorch frontends: the papers' models, run on real inputs, exported as archsim traces.

torch is imported here and never by the ``archsim`` package itself.
"""
