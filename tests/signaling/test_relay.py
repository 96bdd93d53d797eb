"""Relaying call.signal: who may send, who receives, what passes, and the flood limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from signaling.errors import SignalRejected
from signaling.frames import CallSignal, IceCandidate, SessionDescription
from signaling.relay import SignalRelay, check_candidate, check_description, check_sdp
from signaling.state import Call
from tests.signaling.sdp_samples import (
    AIORTC_OFFER,
    CHROMIUM_CANDIDATES,
    CHROMIUM_OFFER,
    FIREFOX_CANDIDATE,
)
from tests.signaling.support import AGENT, OUTSIDER, SHOPPER, active_call, at, new_call

MINIMAL_SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"


def description(kind: str = "offer", sdp: str = AIORTC_OFFER) -> CallSignal:
    return CallSignal.model_validate(
        {"type": "call.signal", "call_id": "call-1", "description": {"type": kind, "sdp": sdp}}
    )


def candidate(line: str = CHROMIUM_CANDIDATES[0], **extra: Any) -> CallSignal:
    fields = {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0, **extra}
    return CallSignal.model_validate(
        {"type": "call.signal", "call_id": "call-1", "candidate": fields}
    )


def rejected_code(relay: SignalRelay, call: Call, signal: CallSignal, **kw: Any) -> str:
    sender = kw.get("sender", SHOPPER)
    session = kw.get("session", "s-caller")
    with pytest.raises(SignalRejected) as info:
        relay.relay(call, sender, session, signal, kw.get("now", at(10)))
    assert info.value.call_id == call.id
    return info.value.code


# --- routing ---------------------------------------------------------------------------


def test_offer_goes_to_the_callee_bound_connection_only() -> None:
    call = active_call()
    relayed = SignalRelay().relay(call, SHOPPER, "s-caller", description(), at(10))
    assert relayed.to == AGENT
    assert relayed.session_id == "s-callee"
    assert relayed.frame == {
        "type": "call.signal",
        "call_id": "call-1",
        "by": {"type": "visitor", "id": SHOPPER.id},
        "description": {"type": "offer", "sdp": AIORTC_OFFER},
    }


def test_either_side_may_offer_during_the_call() -> None:
    """Renegotiation (a screen share) may start from the callee too."""
    call = active_call()
    relay = SignalRelay()
    relayed = relay.relay(call, AGENT, "s-callee", description("offer", CHROMIUM_OFFER), at(20))
    assert (relayed.to, relayed.session_id) == (SHOPPER, "s-caller")
    answer = relay.relay(call, SHOPPER, "s-caller", description("answer"), at(21))
    assert answer.frame["description"]["type"] == "answer"


def test_candidate_frame_is_reserialized() -> None:
    call = active_call()
    relayed = SignalRelay().relay(
        call, AGENT, "s-callee", candidate(usernameFragment="2nBk"), at(10)
    )
    assert relayed.frame["candidate"] == {
        "candidate": CHROMIUM_CANDIDATES[0],
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": "2nBk",
    }
    assert relayed.to == SHOPPER


def test_an_outsider_is_refused() -> None:
    code = rejected_code(SignalRelay(), active_call(), description(), sender=OUTSIDER)
    assert code == "signal_not_allowed"


def test_nothing_passes_before_the_answer_or_after_the_end() -> None:
    ringing = new_call()
    assert rejected_code(SignalRelay(), ringing, description()) == "signal_not_allowed"
    ended = active_call()
    ended.hangup(AGENT, at(9))
    assert rejected_code(SignalRelay(), ended, candidate()) == "signal_not_allowed"


def test_only_the_bound_connection_may_signal() -> None:
    code = rejected_code(SignalRelay(), active_call(), description(), session="s-other-tab")
    assert code == "signal_not_allowed"


def test_peer_interrupted_is_retryable() -> None:
    call = active_call()
    call.participant_disconnected(AGENT, at(9))
    with pytest.raises(SignalRejected) as info:
        SignalRelay().relay(call, SHOPPER, "s-caller", candidate(), at(10))
    assert info.value.code == "peer_interrupted"
    assert info.value.retryable
    call.participant_reconnected(AGENT, "s-callee-2", at(11))
    relayed = SignalRelay().relay(call, SHOPPER, "s-caller", candidate(), at(12))
    assert relayed.session_id == "s-callee-2"


# --- descriptions ----------------------------------------------------------------------


@pytest.mark.parametrize("sdp", [AIORTC_OFFER, CHROMIUM_OFFER, MINIMAL_SDP])
def test_real_looking_sdps_pass(sdp: str) -> None:
    check_description(SessionDescription(type="offer", sdp=sdp))


def test_the_samples_have_realistic_sizes() -> None:
    """FACTS: aiortc audio+video ~3 KB, Chromium audio+video+screen ~10 KB."""
    assert 2_000 < len(AIORTC_OFFER.encode()) < 5_000
    assert 7_000 < len(CHROMIUM_OFFER.encode()) < 16_000
    assert len(CHROMIUM_OFFER.encode()) * 2 < 32 * 1024


def test_lf_only_sdp_passes() -> None:
    check_sdp(AIORTC_OFFER.replace("\r\n", "\n"))


def test_sdp_too_large() -> None:
    padding = "".join(f"a=x-pad:{n:06d}{'p' * 100}\r\n" for n in range(320))
    big = CHROMIUM_OFFER + padding
    assert len(big.encode()) > 32 * 1024
    assert rejected_code(SignalRelay(), active_call(), description(sdp=big)) == "sdp_too_large"
    SignalRelay(max_sdp_bytes=None).relay(
        active_call(), SHOPPER, "s-caller", description(sdp=big), at(10)
    )


def test_sdp_size_counts_utf8_bytes() -> None:
    sdp = MINIMAL_SDP.replace("s=-", "s=" + "客" * 100)
    relay = SignalRelay(max_sdp_bytes=len(MINIMAL_SDP) + 250)
    assert rejected_code(relay, active_call(), description(sdp=sdp)) == "sdp_too_large"


@pytest.mark.parametrize(
    "sdp",
    [
        "",
        "hello",
        "v=1\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
        " v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
        "v=0\r\ns=-\r\nt=0 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nt=0 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n\r\ns=-\r\nt=0 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n<script>alert(1)</script>\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nA=upper\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=nul\x00\r\n",
        "v=0\ro=- 1 1 IN IP4 0.0.0.0\rs=-\rt=0 0\r",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=bad\ud800\r\n",
    ],
)
def test_sdp_malformed(sdp: str) -> None:
    assert rejected_code(SignalRelay(), active_call(), description(sdp=sdp)) == "sdp_malformed"


def test_rollback_carries_no_sdp() -> None:
    relayed = SignalRelay().relay(
        active_call(), SHOPPER, "s-caller", description("rollback", ""), at(10)
    )
    assert relayed.frame["description"] == {"type": "rollback", "sdp": ""}
    code = rejected_code(SignalRelay(), active_call(), description("rollback", MINIMAL_SDP))
    assert code == "sdp_malformed"


@pytest.mark.parametrize("kind", ["offer", "answer", "pranswer"])
def test_offers_and_answers_need_an_sdp(kind: str) -> None:
    assert rejected_code(SignalRelay(), active_call(), description(kind, "")) == "sdp_malformed"


# --- candidates ------------------------------------------------------------------------


@pytest.mark.parametrize("line", [*CHROMIUM_CANDIDATES, FIREFOX_CANDIDATE])
def test_browser_candidates_pass(line: str) -> None:
    check_candidate(IceCandidate(candidate=line, sdpMid="0", sdpMLineIndex=0))


def test_aiortc_sdp_candidates_pass_when_trickled() -> None:
    lines = [
        line.removeprefix("a=")
        for line in AIORTC_OFFER.split("\r\n")
        if line.startswith("a=candidate:")
    ]
    assert len(lines) == 4
    for line in lines:
        check_candidate(IceCandidate(candidate=line, sdpMLineIndex=0))


def test_end_of_candidates_passes() -> None:
    check_candidate(IceCandidate(candidate=""))
    check_candidate(IceCandidate(candidate="", sdpMid="0", sdpMLineIndex=0))


def test_candidate_too_large() -> None:
    line = CHROMIUM_CANDIDATES[0] + " x-pad " + "p" * 1100
    signal = candidate(line)
    assert rejected_code(SignalRelay(), active_call(), signal) == "candidate_too_large"


@pytest.mark.parametrize(
    ("line", "extra"),
    [
        ("a=" + CHROMIUM_CANDIDATES[0], {}),
        ("candidate:1 1 udp 2122260223 192.168.0.196 46243 typ bogus", {}),
        ("candidate:1 1 sctp 2122260223 192.168.0.196 46243 typ host", {}),
        ("candidate:1 1 udp prio 192.168.0.196 46243 typ host", {}),
        ("candidate:1 1 udp 2122260223 192.168.0.196 typ host", {}),
        ("candidate:1 1 udp 2122260223 192.168.0.196 46243 typ host dangling", {}),
        ("candidate:1 1 udp 2122260223 192.168.0.196 46243 typ host\r\na=evil", {}),
        ("hello", {}),
        (CHROMIUM_CANDIDATES[0], {"sdpMid": None, "sdpMLineIndex": None}),
        (CHROMIUM_CANDIDATES[0], {"sdpMid": ""}),
        (CHROMIUM_CANDIDATES[0], {"sdpMid": "0 1"}),
        (CHROMIUM_CANDIDATES[0], {"sdpMLineIndex": -1}),
        (CHROMIUM_CANDIDATES[0], {"sdpMLineIndex": 70000}),
        (CHROMIUM_CANDIDATES[0], {"usernameFragment": "u" * 300}),
        (CHROMIUM_CANDIDATES[0], {"usernameFragment": "a\nb"}),
    ],
)
def test_candidate_malformed(line: str, extra: dict[str, Any]) -> None:
    code = rejected_code(SignalRelay(), active_call(), candidate(line, **extra))
    assert code == "candidate_malformed"


# --- floods ----------------------------------------------------------------------------


def test_candidate_burst_then_rate() -> None:
    call = active_call()
    relay = SignalRelay(candidate_burst=5, candidate_rate=2.0, max_candidates_per_call=None)
    for _ in range(5):
        relay.relay(call, SHOPPER, "s-caller", candidate(), at(10))
    with pytest.raises(SignalRejected) as info:
        relay.relay(call, SHOPPER, "s-caller", candidate(), at(10))
    assert (info.value.code, info.value.retryable) == ("candidate_flood", True)
    # The other participant has a budget of their own.
    relay.relay(call, AGENT, "s-callee", candidate(), at(10))
    # Half a second refills one token at 2 per second.
    relay.relay(call, SHOPPER, "s-caller", candidate(), at(10.5))
    assert rejected_code(relay, call, candidate(), now=at(10.5)) == "candidate_flood"


def test_candidate_cap_per_call_is_final() -> None:
    call = active_call()
    relay = SignalRelay(max_candidates_per_call=3, candidate_rate=None)
    for _ in range(3):
        relay.relay(call, SHOPPER, "s-caller", candidate(), at(10))
    with pytest.raises(SignalRejected) as info:
        relay.relay(call, SHOPPER, "s-caller", candidate(), at(10) + timedelta(hours=1))
    assert (info.value.code, info.value.retryable) == ("candidate_flood", False)


def test_refused_candidates_spend_nothing() -> None:
    call = active_call()
    relay = SignalRelay(max_candidates_per_call=1, candidate_rate=None)
    for _ in range(3):
        assert rejected_code(relay, call, candidate("nonsense")) == "candidate_malformed"
    relay.relay(call, SHOPPER, "s-caller", candidate(), at(10))


def test_description_flood() -> None:
    call = active_call()
    relay = SignalRelay(max_descriptions_per_call=2)
    relay.relay(call, SHOPPER, "s-caller", description(), at(10))
    relay.relay(call, SHOPPER, "s-caller", description("answer"), at(11))
    assert rejected_code(relay, call, description(), now=at(12)) == "description_flood"


def test_forget_resets_a_call_budget() -> None:
    call = active_call()
    relay = SignalRelay(max_candidates_per_call=1, candidate_rate=None)
    relay.relay(call, SHOPPER, "s-caller", candidate(), at(10))
    assert rejected_code(relay, call, candidate()) == "candidate_flood"
    relay.forget(call.id)
    relay.relay(call, SHOPPER, "s-caller", candidate(), at(11))


def test_default_limits_allow_a_realistic_gathering() -> None:
    """Chromium trickles a dozen candidates at once; an ICE restart trickles them again."""
    call = active_call()
    relay = SignalRelay()
    for _ in range(2):
        for line in CHROMIUM_CANDIDATES * 3:
            relay.relay(call, AGENT, "s-callee", candidate(line), at(10))
    relay.relay(call, AGENT, "s-callee", candidate(""), at(10))
