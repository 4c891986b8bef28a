"""The sweep's crossbar evaluator: bad requests fail with the option named (before any model is
loaded or trained)."""
import pytest

from archsim.noise import CrossbarSpec
from workloads.noise.evaluate import evaluate


def test_unknown_option_model_and_dataset():
    with pytest.raises(ValueError, match=r"accuracy.options: unknown option\(s\) \['bogus'\]"):
        evaluate("tiny-snn", "digits", 10, 0, CrossbarSpec(), {"bogus": 1})
    with pytest.raises(ValueError, match="accuracy.model: unknown model 'no-such-net'"):
        evaluate("no-such-net", "digits", 10, 0, CrossbarSpec(), {})
    with pytest.raises(ValueError, match="accuracy.dataset: small-vit is trained on fashion-mnist"):
        evaluate("small-vit", "digits", 10, 0, CrossbarSpec(), {})
    with pytest.raises(ValueError, match="accuracy.dataset: tiny-snn"):
        evaluate("tiny-snn", "fashion-mnist", 10, 0, CrossbarSpec(), {})
