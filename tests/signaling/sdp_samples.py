"""Session descriptions and candidates shaped like what aiortc and Chromium really send."""

from __future__ import annotations

# aiortc 1.x offer, audio + video: every candidate is in the SDP (no trickle), CRLF.
AIORTC_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 3917164163 3917164163 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=msid-semantic:WMS *",
        "m=audio 52730 UDP/TLS/RTP/SAVPF 96 0 8",
        "c=IN IP4 192.168.1.20",
        "a=sendrecv",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=mid:0",
        "a=msid:5b0d8bd6-3a8c-4a53-8a1e-0f9d0e4c6a11 0c6f2a57-22c2-4d4e-bb55-1c5b8e0d4e10",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=rtcp-mux",
        "a=ssrc:2716540416 cname:1b2c0e4a-2f3d-4e2b-9b8c-7a6d5e4f3a2b",
        "a=rtpmap:96 opus/48000/2",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=candidate:5e1f0f1e3f4b4f0b8c8b1c0b1f8e2d3c 1 udp 2130706431 192.168.1.20 52730 typ host",
        "a=candidate:a8d2e3f4b5c6d7e8f9a0b1c2d3e4f5a6 1 udp 1694498815 203.0.113.7 52730 typ srflx"
        " raddr 192.168.1.20 rport 52730",
        "a=end-of-candidates",
        "a=ice-ufrag:Xk3N",
        "a=ice-pwd:b1KxQ0pZt9yV8sR7qP6oN5mL",
        "a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:"
        "50:55:EA:8C:D3:B6:5C:09:5E:D6:BC",
        "a=setup:actpass",
        "m=video 52730 UDP/TLS/RTP/SAVPF 97 98 99 100 101 102",
        "c=IN IP4 192.168.1.20",
        "a=sendrecv",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "a=mid:1",
        "a=msid:5b0d8bd6-3a8c-4a53-8a1e-0f9d0e4c6a11 9d1e2f3a-4b5c-4d6e-8f7a-1b2c3d4e5f60",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=rtcp-mux",
        "a=ssrc-group:FID 1436274710 3370441521",
        "a=ssrc:1436274710 cname:1b2c0e4a-2f3d-4e2b-9b8c-7a6d5e4f3a2b",
        "a=ssrc:3370441521 cname:1b2c0e4a-2f3d-4e2b-9b8c-7a6d5e4f3a2b",
        "a=rtpmap:97 VP8/90000",
        "a=rtcp-fb:97 nack",
        "a=rtcp-fb:97 nack pli",
        "a=rtcp-fb:97 goog-remb",
        "a=rtpmap:98 rtx/90000",
        "a=fmtp:98 apt=97",
        "a=rtpmap:99 H264/90000",
        "a=rtcp-fb:99 nack",
        "a=rtcp-fb:99 nack pli",
        "a=rtcp-fb:99 goog-remb",
        "a=fmtp:99 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
        "a=rtpmap:100 rtx/90000",
        "a=fmtp:100 apt=99",
        "a=rtpmap:101 H264/90000",
        "a=rtcp-fb:101 nack",
        "a=rtcp-fb:101 nack pli",
        "a=rtcp-fb:101 goog-remb",
        "a=fmtp:101 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        "a=rtpmap:102 rtx/90000",
        "a=fmtp:102 apt=101",
        "a=candidate:5e1f0f1e3f4b4f0b8c8b1c0b1f8e2d3c 1 udp 2130706431 192.168.1.20 52730 typ host",
        "a=candidate:a8d2e3f4b5c6d7e8f9a0b1c2d3e4f5a6 1 udp 1694498815 203.0.113.7 52730 typ srflx"
        " raddr 192.168.1.20 rport 52730",
        "a=end-of-candidates",
        "a=ice-ufrag:Xk3N",
        "a=ice-pwd:b1KxQ0pZt9yV8sR7qP6oN5mL",
        "a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:"
        "50:55:EA:8C:D3:B6:5C:09:5E:D6:BC",
        "a=setup:actpass",
        "",
    ]
)

_CHROMIUM_VIDEO_CODECS = [
    (96, "VP8/90000", None),
    (97, "rtx/90000", "apt=96"),
    (98, "VP9/90000", "profile-id=0"),
    (99, "rtx/90000", "apt=98"),
    (100, "VP9/90000", "profile-id=2"),
    (101, "rtx/90000", "apt=100"),
    (
        102,
        "H264/90000",
        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
    ),
    (103, "rtx/90000", "apt=102"),
    (
        104,
        "H264/90000",
        "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f",
    ),
    (105, "rtx/90000", "apt=104"),
    (
        106,
        "H264/90000",
        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    ),
    (107, "rtx/90000", "apt=106"),
    (
        108,
        "H264/90000",
        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f",
    ),
    (109, "rtx/90000", "apt=108"),
    (35, "AV1/90000", None),
    (36, "rtx/90000", "apt=35"),
    (45, "H265/90000", None),
    (46, "rtx/90000", "apt=45"),
    (114, "red/90000", None),
    (115, "rtx/90000", "apt=114"),
    (116, "ulpfec/90000", None),
]


def _chromium_video(mid: int, stream: str, track: str, ssrc: int) -> list[str]:
    payloads = " ".join(str(pt) for pt, _, _ in _CHROMIUM_VIDEO_CODECS)
    lines = [
        f"m=video 9 UDP/TLS/RTP/SAVPF {payloads}",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:2nBk",
        "a=ice-pwd:5m0Ww9Kp0wF8hJ0rJ3fL1zQx",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 3C:4A:AB:77:E4:C8:1B:EE:18:0B:F3:6D:69:AF:4E:BB:6F:0B:14:55:"
        "9F:44:D3:0E:05:0A:D1:4A:62:8D:7E:51",
        "a=setup:actpass",
        f"a=mid:{mid}",
        "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset",
        "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "a=extmap:13 urn:3gpp:video-orientation",
        "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        "a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
        "a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type",
        "a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing",
        "a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
        "a=sendrecv",
        f"a=msid:{stream} {track}",
        "a=rtcp-mux",
        "a=rtcp-rsize",
    ]
    for pt, codec, fmtp in _CHROMIUM_VIDEO_CODECS:
        lines.append(f"a=rtpmap:{pt} {codec}")
        if not codec.startswith(("rtx", "red", "ulpfec")):
            lines += [
                f"a=rtcp-fb:{pt} goog-remb",
                f"a=rtcp-fb:{pt} transport-cc",
                f"a=rtcp-fb:{pt} ccm fir",
                f"a=rtcp-fb:{pt} nack",
                f"a=rtcp-fb:{pt} nack pli",
            ]
        if fmtp:
            lines.append(f"a=fmtp:{pt} {fmtp}")
    lines += [
        f"a=ssrc-group:FID {ssrc} {ssrc + 1}",
        f"a=ssrc:{ssrc} cname:Qd1Xq0pJm4Zt8Kc2",
        f"a=ssrc:{ssrc} msid:{stream} {track}",
        f"a=ssrc:{ssrc + 1} cname:Qd1Xq0pJm4Zt8Kc2",
        f"a=ssrc:{ssrc + 1} msid:{stream} {track}",
    ]
    return lines


# Chromium offer after the screen share was added: audio, camera, screen (trickle ICE).
CHROMIUM_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 4611731400430051336 3 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1 2",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS 6f1b2f1e-7f0e-4f4b-9c55-0f8f6ac2c9a1",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:2nBk",
        "a=ice-pwd:5m0Ww9Kp0wF8hJ0rJ3fL1zQx",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 3C:4A:AB:77:E4:C8:1B:EE:18:0B:F3:6D:69:AF:4E:BB:6F:0B:14:55:"
        "9F:44:D3:0E:05:0A:D1:4A:62:8D:7E:51",
        "a=setup:actpass",
        "a=mid:0",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=sendrecv",
        "a=msid:6f1b2f1e-7f0e-4f4b-9c55-0f8f6ac2c9a1 1d3c6b0e-8e3a-4a8b-9f2d-6c1e5a7b9d02",
        "a=rtcp-mux",
        "a=rtcp-rsize",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:63 red/48000/2",
        "a=fmtp:63 111/111",
        "a=rtpmap:9 G722/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:13 CN/8000",
        "a=rtpmap:110 telephone-event/48000",
        "a=rtpmap:126 telephone-event/8000",
        "a=ssrc:3511245031 cname:Qd1Xq0pJm4Zt8Kc2",
        "a=ssrc:3511245031 msid:6f1b2f1e-7f0e-4f4b-9c55-0f8f6ac2c9a1 "
        "1d3c6b0e-8e3a-4a8b-9f2d-6c1e5a7b9d02",
        *_chromium_video(
            1,
            "6f1b2f1e-7f0e-4f4b-9c55-0f8f6ac2c9a1",
            "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d",
            1190203345,
        ),
        *_chromium_video(
            2,
            "0e9d8c7b-6a5f-4e3d-8c1b-0a9f8e7d6c5b",
            "2b3c4d5e-6f7a-4b9c-8d1e-2f3a4b5c6d7e",
            2204156177,
        ),
        "",
    ]
)

CHROMIUM_CANDIDATES = [
    "candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0"
    " ufrag 2nBk network-id 1 network-cost 10",
    "candidate:3098175849 1 udp 2122262783 4a2e7b0b-3c5f-4b8f-9a5c-2f9e3f1c0d7a.local 54321"
    " typ host generation 0 ufrag 2nBk network-cost 999",
    "candidate:2999745851 1 tcp 1518280447 192.168.0.196 9 typ host tcptype active"
    " generation 0 ufrag 2nBk network-id 1",
    "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 0.0.0.0 rport 0"
    " generation 0 ufrag 2nBk network-cost 999",
    "candidate:1234567 1 udp 41885439 198.51.100.50 61234 typ relay raddr 203.0.113.7"
    " rport 46154 generation 0 ufrag 2nBk network-id 1 network-cost 10",
    "candidate:2158456178 1 udp 2122197247 2001:db8::1f 50000 typ host generation 0"
    " ufrag 2nBk network-id 2",
]

FIREFOX_CANDIDATE = "candidate:0 1 UDP 2122252543 192.168.1.5 50000 typ host"
