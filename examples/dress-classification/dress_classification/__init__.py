"""Dress length and color from a photo: data, Keras models, Seldon serving and a web page.

`data` needs only NumPy and Pillow (the serving image and the web page use it too); `model`
imports TensorFlow; `pipeline` imports the Kubeflow Pipelines SDK.
"""
