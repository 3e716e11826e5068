"""The compiled pipeline on a real Kubeflow Pipelines (needs the platform; `-m integration`).

Set DSP_KFP_HOST (the Kubeflow Pipelines API, e.g. http://ml-pipeline-ui.kubeflow), optionally
DSP_KFP_NAMESPACE and DSP_KFP_TOKEN, and DSP_PRICE_IMAGE (the image built from the Dockerfile
and pushed where the cluster pulls from).
"""

import os

import pytest

from price_optimization import pipeline

pytestmark = pytest.mark.integration


@pytest.fixture
def kfp_client():
    host = os.environ.get("DSP_KFP_HOST")
    image = os.environ.get("DSP_PRICE_IMAGE")
    if not host or not image:
        reason = "set DSP_KFP_HOST and DSP_PRICE_IMAGE to run the pipeline on Kubeflow"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    import kfp

    client = kfp.Client(
        host=host,
        namespace=os.environ.get("DSP_KFP_NAMESPACE", "kubeflow-user-example-com"),
        existing_token=os.environ.get("DSP_KFP_TOKEN"),
    )
    return client, image


def test_pipeline_succeeds_on_kubeflow(kfp_client, tmp_path):
    client, image = kfp_client
    package = tmp_path / "price-optimization.yaml"
    pipeline.compile_pipeline(str(package), image=image)
    run = client.create_run_from_pipeline_package(
        str(package),
        arguments={"n_products": 4, "n_weeks": 104},
        run_name="price-optimization-integration",
        enable_caching=False,
    )
    result = client.wait_for_run_completion(run.run_id, timeout=1800)
    assert result.state == "SUCCEEDED", result.error
