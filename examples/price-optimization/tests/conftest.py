"""Fixtures of the price-optimization tests: one trained model shared by the module tests."""

from __future__ import annotations

import pytest

from price_optimization.data import generate_sales, product_catalog
from price_optimization.model import train_demand_model

N_PRODUCTS = 8
N_WEEKS = 156
SEED = 7


@pytest.fixture(scope="session")
def catalog():
    return product_catalog(N_PRODUCTS, SEED)


@pytest.fixture(scope="session")
def sales():
    return generate_sales(N_PRODUCTS, N_WEEKS, SEED)


@pytest.fixture(scope="session")
def model(sales):
    return train_demand_model(sales)
