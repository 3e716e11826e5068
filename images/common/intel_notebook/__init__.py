"""CPU tuning shared by the Intel-optimized notebook images.

Installed into each image's site-packages together with `intel-notebook.pth`, which imports
`intel_notebook.startup` when the interpreter starts. Startup only registers hooks: scikit-learn's
estimators are patched with Intel's extension when a notebook first imports an estimator module,
and Keras is switched to bfloat16 only where INTEL_KERAS_BF16=on asks, so an interpreter that
never uses them (or only imports XGBoost, which loads scikit-learn) pays nothing.

`python -m intel_notebook` prints what is active in the current environment.
"""

__version__ = "1.0.0"
