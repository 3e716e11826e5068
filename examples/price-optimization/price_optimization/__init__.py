"""Retail price optimization: a demand model learned from sales, and the prices it recommends.

The modules import no Kubeflow code, so notebooks, tests and benchmarks use them directly;
`price_optimization.pipeline` wraps the same functions as Kubeflow Pipelines components.
"""
