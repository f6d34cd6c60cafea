"""Regenerate ``fastcm/data/digits_predictions.npz``, the real example behind ``fastcm demo``.

A logistic regression is trained on half of scikit-learn's bundled handwritten digits
(``load_digits``: 1797 8x8 images, 10 classes, shipped with scikit-learn, no download)
and predicts the other half. The file holds what an evaluation job would have on disk:

* ``y_true``   (N,) int8 true digit
* ``y_pred``   (N,) int8 predicted digit
* ``y_proba``  (N, 10) float32 predicted probabilities
* ``target_names`` (10,) str

Run from a checkout (needs scikit-learn): ``python scripts/make_demo_data.py``.
The model is deliberately small (few iterations, strong regularisation, digits blurred to
4x4) so that its mistakes are visible in the report and the confusion matrix.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "fastcm" / "data" / "digits_predictions.npz"


def main(argv=None) -> int:
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)

    digits = load_digits()
    # 8x8 -> 4x4 by averaging 2x2 blocks: a coarser view makes a few digits genuinely
    # confusable (3/8/9, 1/7), which is what a demo of a confusion matrix should show.
    images = digits.images.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(len(digits.images), -1)
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.5, random_state=0, stratify=digits.target
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=200))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    proba = model.predict_proba(x_test).astype(np.float32)
    y_pred = model.classes_[np.argmax(proba, axis=1)]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        y_true=y_test.astype(np.int8),
        y_pred=y_pred.astype(np.int8),
        y_proba=proba,
        target_names=np.array([str(c) for c in digits.target_names]),
    )
    accuracy = float((y_pred == y_test).mean())
    print(f"wrote {out} ({out.stat().st_size} bytes): {len(y_test)} test digits, accuracy {accuracy:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
