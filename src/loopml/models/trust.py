"""Which classes a model file may contain before anyone has to vouch for it.

A scikit-learn model file (skops) names every class it will build. loopml
builds it without ``trusted`` only when each of those names is on this list: a
list of classes, each by its fully qualified name, never a module prefix, so
that ``builtins.exec``, ``os.system`` or ``functools.partial`` can never slip in
beside the harmless ``builtins.dict``. The list holds what loopml's own
training produces: every scikit-learn estimator and transformer, the helper
classes they hold (numpy arrays and scalars, scipy sparse matrices, tree and
loss internals), and LightGBM's and XGBoost's scikit-learn wrappers with their
boosters, which restore themselves from the libraries' own model formats.

Anything else loads only when the caller trusts it by name (``trusted=[...]``,
or the setting ``trusted_model_types``) or trusts the whole file
(``trusted=True``, which also allows pickles).
"""

from __future__ import annotations

import functools
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence

from loopml.errors import UntrustedModel

Trust = bool | Sequence[str]


def type_name(cls: object) -> str:
    return f"{cls.__module__}.{getattr(cls, '__qualname__', None) or cls.__name__}"  # type: ignore[attr-defined]


@functools.cache
def allowed_types() -> frozenset[str]:
    """The fully qualified names of the classes (and numpy functions) a file may use."""
    return frozenset(
        type_name(t)
        for t in (
            *_python_classes(),
            *_numpy_classes(),
            *_scipy_classes(),
            *_sklearn_classes(),
            *_booster_classes(),
        )
    )


def untrusted(found: Iterable[str], trusted: Trust) -> list[str]:
    """The names in ``found`` that neither the list nor the caller trusts."""
    if trusted is True:
        return []
    extra = set() if trusted is False else set(trusted)
    allowed = allowed_types()
    return sorted({name for name in found if name not in allowed and name not in extra})


def combine(trusted: Trust, configured: Sequence[str]) -> Trust:
    """The caller's trust widened by the names the settings trust."""
    if trusted is True or not configured:
        return trusted
    return [*configured, *(() if trusted is False else trusted)]


def refuse(types: Sequence[str]) -> UntrustedModel:
    listed = ", ".join(repr(t) for t in types)
    return UntrustedModel(
        f"This model file uses classes or functions loopml does not trust: {', '.join(types)}. "
        "Loading it could run code from the file.",
        hint=f"Only if you trust whoever logged it, load it with trusted=[{listed}] "
        "(or add them to the setting LOOPML_TRUSTED_MODEL_TYPES for the server and the CLI).",
    )


def _python_classes() -> list[object]:
    return [
        dict,
        list,
        tuple,
        set,
        frozenset,
        str,
        int,
        float,
        bool,
        complex,
        bytes,
        bytearray,
        slice,
        type(None),
        OrderedDict,
        defaultdict,
    ]


def _numpy_classes() -> list[object]:
    import numpy as np

    scalars = {t for t in np.sctypeDict.values() if t.__module__ == "numpy"}
    bit_generators = [
        np.random.PCG64,
        np.random.PCG64DXSM,
        np.random.MT19937,
        np.random.Philox,
        np.random.SFC64,
    ]
    # Element-wise maths that FunctionTransformer(func=np.log1p) and the like may name.
    ufuncs = [getattr(np, name) for name in dir(np) if isinstance(getattr(np, name), np.ufunc)]
    return [
        np.ndarray,
        np.ma.MaskedArray,
        np.dtype,
        *scalars,
        *(getattr(np.dtypes, name) for name in np.dtypes.__all__),
        np.random.RandomState,
        np.random.Generator,
        *bit_generators,
        *ufuncs,
    ]


def _scipy_classes() -> list[object]:
    from scipy import sparse

    kinds = ("bsr", "coo", "csc", "csr", "dia", "dok", "lil")
    return [getattr(sparse, f"{kind}_{form}") for kind in kinds for form in ("matrix", "array")]


def _sklearn_classes() -> list[object]:
    """Every estimator, with the internals fitted ones hold: trees (checked on load, see
    trees.py), histogram binning, and the loss and link classes of gradient boosting."""
    from sklearn._loss import _loss, link, loss
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.tree._tree import Tree
    from sklearn.utils import all_estimators

    losses = [
        v
        for module in (_loss, link, loss)
        for v in vars(module).values()
        if isinstance(v, type) and v.__module__ == module.__name__
    ]
    return [cls for _, cls in all_estimators()] + [Tree, TreePredictor, _BinMapper] + losses


def _booster_classes() -> list[object]:
    """LightGBM's and XGBoost's wrappers; their boosters rebuild from the libraries' own
    text (LightGBM) and binary JSON (XGBoost) model formats, never from a pickle."""
    classes: list[object] = []
    try:
        import lightgbm

        classes += [lightgbm.LGBMRegressor, lightgbm.LGBMClassifier, lightgbm.Booster]
    except ImportError:
        pass
    try:
        import xgboost

        classes += [xgboost.XGBRegressor, xgboost.XGBClassifier, xgboost.Booster]
    except ImportError:
        pass
    return classes
