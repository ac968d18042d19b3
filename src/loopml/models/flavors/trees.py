"""Tree arrays checked before a loaded model first predicts.

A skops file can only say which classes it builds, not that their content is
sane. scikit-learn's tree code follows the child and feature indices of its
node arrays without bounds checks, so a crafted file of trusted classes could
make a prediction read outside memory (skops itself leaves
``TreePredictor`` untrusted for this reason). Every tree in a loaded model is
therefore checked: each split points forward to nodes inside its tree, on a
feature the model has, and categorical splits name a bitset that exists.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from loopml.errors import ArtifactCorrupt


def check_trees(model: Any) -> None:
    for owner in _estimators(model):
        tree = getattr(owner, "tree_", None)
        if tree is not None and hasattr(tree, "children_left"):
            _check_tree(tree)
        for predictors in getattr(owner, "_predictors", None) or []:
            for predictor in predictors:
                _check_predictor(predictor, owner.n_features_in_)


def _estimators(model: Any) -> list[Any]:
    """The model and every estimator held inside it (pipeline steps, ensemble members)."""
    found, pending, seen = [], [model], set()
    while pending:
        current = pending.pop()
        if id(current) in seen or not hasattr(current, "__dict__"):
            continue
        seen.add(id(current))
        found.append(current)
        for value in vars(current).values():
            pending.extend(_objects_in(value))
    return found


def _objects_in(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [o for item in value for o in _objects_in(item)]
    if isinstance(value, dict):
        return [o for item in value.values() for o in _objects_in(item)]
    return [value] if hasattr(value, "get_params") else []


def _check_tree(tree: Any) -> None:
    count = tree.node_count
    _check_splits(count, tree.children_left, tree.children_right, tree.feature, tree.n_features)
    if tree.value.shape[0] < count:
        raise _broken("a decision tree has fewer values than nodes")


def _check_predictor(predictor: Any, n_features: int) -> None:
    nodes = predictor.nodes
    leaf = nodes["is_leaf"].astype(bool)
    left = np.where(leaf, -1, nodes["left"].astype(np.int64))
    right = np.where(leaf, -1, nodes["right"].astype(np.int64))
    _check_splits(len(nodes), left, right, nodes["feature_idx"], n_features)
    categorical = ~leaf & nodes["is_categorical"].astype(bool)
    bitsets = min(len(predictor.raw_left_cat_bitsets), len(predictor.binned_left_cat_bitsets))
    if np.any(nodes["bitset_idx"][categorical] >= bitsets):
        raise _broken("a categorical split names a bitset that does not exist")


def _check_splits(count: int, left, right, feature, n_features: int) -> None:
    left, right, feature = (np.asarray(a, dtype=np.int64)[:count] for a in (left, right, feature))
    if len(left) < count or len(right) < count or len(feature) < count:
        raise _broken("a tree has fewer node entries than nodes")
    split = left != -1
    index = np.arange(count)
    if np.any(split != (right != -1)):
        raise _broken("a tree node has one child")
    inside = (left > index) & (left < count) & (right > index) & (right < count)
    if np.any(split & ~inside):
        raise _broken("a tree node points outside its tree")
    if np.any(split & ((feature < 0) | (feature >= n_features))):
        raise _broken("a tree splits on a feature the model does not have")


def _broken(what: str) -> ArtifactCorrupt:
    return ArtifactCorrupt(
        f"The model file is malformed: {what}; predicting with it could crash the process.",
        hint="Do not use this file; log the model again from its source.",
    )
