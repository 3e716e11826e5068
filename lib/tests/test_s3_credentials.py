"""S3 connection info as an s3 provider sends it: anything unusable is InvalidS3Data."""

import pytest

from dsplib.s3_credentials import InvalidS3Data, S3Connection

INFO = {
    "access-key": "ACCESS",
    "secret-key": "SECRET",
    "endpoint": "https://rgw.example:443",
    "bucket": "models",
}


@pytest.mark.parametrize(
    "chain", ["\x80", ["é"], "not base64!", ["-----BEGIN"], [1], "bm90IGEgUEVN"]
)
def test_a_tls_ca_chain_that_is_not_pem_is_invalid_data(chain):
    """Non-ASCII text made base64 raise ValueError, not binascii.Error, in the hook."""
    with pytest.raises(InvalidS3Data, match="tls-ca-chain"):
        S3Connection.from_info({**INFO, "tls-ca-chain": chain})


def test_complete_info_makes_a_connection():
    connection = S3Connection.from_info(INFO)
    assert connection is not None
    assert connection.port == 443
    assert connection.tls_ca == ""


@pytest.mark.parametrize(
    ("key", "value"),
    [("region", "\x80"), ("region", "eu/west"), ("access-key", "clé"), ("access-key", "a b")],
)
def test_access_key_and_region_fit_the_signature_scope(key, value):
    """A non-ASCII region raised UnicodeEncodeError in httpx while the hook checked the bucket."""
    with pytest.raises(InvalidS3Data, match=key):
        S3Connection.from_info({**INFO, key: value})
