import pytest

from chatapp.providers.simulator import SimulatorServer


@pytest.fixture(scope="module")
def live_simulator_url():
    """A simulator in its own thread, for sync (admin) tests that cannot share a test loop."""
    return SimulatorServer(chunk_delay=0).start_in_thread()


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "root-pw-1")
    client.force_login(admin)
    return client
