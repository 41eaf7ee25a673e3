"""Real callbacks from the gateway's workers, received by the Flask helper and checked with verify_callback."""

import pytest
from motion_gateway_client import InvalidCallback, verify_callback

from tests.client.conftest import MOTION
from tests.jogg_fixtures import sandbox_config, wait_until


def all_answered(deliveries, count):
    """The deliveries once there are `count` and each has an attempt on record (written after the answer)."""
    return len(deliveries) == count and all(d.attempts for d in deliveries) and deliveries


def test_the_flask_helper_receives_verified_callbacks(gateway_client, caller, callback_receiver, sandbox, workers):
    """A motion completes: the receiver gets processing then completed, the same events as the pull feed."""
    receiver = callback_receiver(caller.webhook_secret)
    sandbox_config(sandbox, motion_seconds=0.3)
    workers()
    motion = gateway_client.create_motion(**MOTION, callback_url=receiver.url)
    wait_until(lambda: len(receiver.events) >= 2, timeout=90, interval=0.2)
    received = [(event.type, event.sequence, event.data.id) for event in receiver.events]
    assert received == [("motion.processing", 1, motion.id), ("motion.completed", 2, motion.id)]
    assert receiver.events[1].data.preview_url and receiver.refused == 0
    assert [event.id for event in gateway_client.events()] == [event.id for event in receiver.events]
    deliveries = wait_until(lambda: all_answered(gateway_client.deliveries(motion.id), 2), timeout=10, interval=0.2)
    assert [d.event_id for d in deliveries] == [event.id for event in receiver.events]
    assert all(d.url == receiver.url and d.attempts[-1].status_code == 204 for d in deliveries)


def test_redelivery_sends_the_same_event_again(gateway_client, caller, callback_receiver, workers):
    """redeliver(): the receiver gets the cancelled event a second time, with the same id."""
    receiver = callback_receiver(caller.webhook_secret)
    workers()
    motion = gateway_client.create_motion(**MOTION, callback_url=receiver.url)
    gateway_client.cancel(motion.id)
    wait_until(lambda: receiver.events, timeout=30, interval=0.2)
    (delivery,) = gateway_client.deliveries(motion.id)
    again = gateway_client.redeliver(delivery.id)
    assert again.event_id == delivery.event_id
    wait_until(lambda: len(receiver.events) >= 2, timeout=30, interval=0.2)
    assert [event.id for event in receiver.events] == [delivery.event_id] * 2


def test_during_a_secret_rotation_both_secrets_verify(gateway_client, caller, cli, callback_receiver, workers):
    """After `callers rotate-secret`, callbacks carry two signatures: a receiver on either secret accepts them."""
    old_secret = caller.webhook_secret
    new_secret = cli("callers", "rotate-secret", caller.name)["webhook_secret"]
    receiver = callback_receiver(old_secret)  # a receiver not yet switched to the new secret
    workers()
    motion = gateway_client.create_motion(**MOTION, callback_url=receiver.url)
    gateway_client.cancel(motion.id)
    wait_until(lambda: receiver.events, timeout=30, interval=0.2)
    headers, body = receiver.requests[0]
    assert len(headers["Webhook-Signature"].split()) == 2
    assert verify_callback(headers, body, new_secret).data.id == motion.id
    assert verify_callback(headers, body, [old_secret, new_secret]) == receiver.events[0]
    with pytest.raises(InvalidCallback):
        verify_callback(headers, body, "whsec_" + "A" * 32)


def test_a_receiver_with_the_wrong_secret_refuses(gateway_client, new_caller, caller, callback_receiver, workers):
    """Signed with another caller's secret: the helper answers 401, hands nothing over; the delivery records it."""
    receiver = callback_receiver(new_caller().webhook_secret)
    workers()
    motion = gateway_client.create_motion(**MOTION, callback_url=receiver.url)
    gateway_client.cancel(motion.id)
    wait_until(lambda: receiver.refused, timeout=30, interval=0.2)
    assert receiver.events == []
    (delivery,) = wait_until(lambda: all_answered(gateway_client.deliveries(motion.id), 1), timeout=10, interval=0.2)
    assert delivery.attempts[0].status_code == 401
