"""Regenerate ``fastcm/data/breast_cancer_rare_predictions.npz``: the accuracy paradox, real.

The second example behind ``fastcm demo``: a classifier that is right 96% of the time and
still misses most of the rare class. Made from scikit-learn's bundled Wisconsin breast
cancer data (``load_breast_cancer``: 569 tumours, 212 malignant, shipped with scikit-learn,
no download), made imbalanced by one documented, reproducible rule:

* keep every benign tumour (357) and every 10th malignant one in the data set's order
  (``malignant[::10]``: 22 of 212), so malignant is 5.8% of the 379 kept;
* the model is scikit-learn's ``LogisticRegression(C=0.1)`` on the standardised tumour
  size (``mean radius``), one feature: a plain, strongly regularised model, as models
  trained on a rare positive class often are (it ranks tumours well, AUROC 0.96, but its
  probability of malignant rarely reaches 0.5);
* every tumour is predicted by a model that did not see it: out-of-fold probabilities of
  a 5-fold stratified cross-validation (``StratifiedKFold(5, shuffle=True, random_state=0)``).

The file holds what an evaluation job would have on disk:

* ``y_true``   (N,) int8: 1 malignant, 0 benign
* ``y_pred``   (N,) int8: the model's prediction at probability 0.5
* ``y_proba``  (N, 2) float32: probabilities of benign and malignant
* ``target_names`` (2,) str: ``["benign", "malignant"]``

Run from a checkout (needs scikit-learn): ``python scripts/make_rare_class_demo_data.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "fastcm" / "data" / "breast_cancer_rare_predictions.npz"
#: keep every KEEP_EVERY-th malignant tumour
KEEP_EVERY = 10
FEATURE = "mean radius"


def main(argv=None) -> int:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)

    data = load_breast_cancer()
    malignant = data.target == list(data.target_names).index("malignant")  # scikit-learn codes malignant as 0
    keep = np.sort(np.concatenate([np.flatnonzero(~malignant), np.flatnonzero(malignant)[::KEEP_EVERY]]))
    x = data.data[keep][:, [list(data.feature_names).index(FEATURE)]]
    y = malignant[keep].astype(np.int8)  # 1: malignant, the rare class
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1))
    proba = cross_val_predict(model, x, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
    proba = proba.astype(np.float32)
    y_pred = (proba[:, 1] >= 0.5).astype(np.int8)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, y_true=y, y_pred=y_pred, y_proba=proba, target_names=np.array(["benign", "malignant"]))
    accuracy = float((y_pred == y).mean())
    recall = float(y_pred[y == 1].mean())
    print(f"wrote {out} ({out.stat().st_size} bytes): {len(y)} tumours, {int(y.sum())} malignant, "
          f"accuracy {accuracy:.3f}, malignant recall {recall:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
