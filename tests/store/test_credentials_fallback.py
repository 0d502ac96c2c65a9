from glov.store.credentials import S3Settings


def test_aws_endpoint_url_is_accepted_when_glov_endpoint_is_unset():
    env = {
        "AWS_ENDPOINT_URL": "https://minio.example:9000",
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "b",
    }
    s = S3Settings.from_env(env)
    assert (s.endpoint, s.secure) == ("minio.example:9000", True)
    env["GLOV_S3_ENDPOINT"] = "other:9000"
    assert S3Settings.from_env(env).endpoint == "other:9000"
