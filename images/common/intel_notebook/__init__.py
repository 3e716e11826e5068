"""CPU tuning shared by the Intel-optimized notebook images.

Installed into each image's site-packages together with `intel-notebook.pth`, which imports
`intel_notebook.startup` when the interpreter starts. Startup only registers hooks: scikit-learn
is patched with Intel's extension, and Keras switched to bfloat16, at the moment a notebook first
imports them, so an interpreter that never uses them pays nothing.

`python -m intel_notebook` prints what is active in the current environment.
"""

__version__ = "1.0.0"
