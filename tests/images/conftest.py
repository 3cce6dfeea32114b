import pytest


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Uploaded images go to the test's own folder, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
