import pytest


@pytest.fixture(autouse=True)
def quick_and_simulated(settings):
    """The simulator answers and passwords hash quickly, whatever the environment says."""
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
