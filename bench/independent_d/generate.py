#!/usr/bin/env python3
"""Independent synthetic incident "D": a distillation campaign hidden in a hosted-LLM provider's API logs.

Self-contained (numpy, polars, standard library). Deterministic for a given --seed and --rows.

    python bench/independent_d/generate.py --out DIR --seed 7 [--rows 1000000]

Writes DIR/logs/YYYY-MM-DD.parquet (2026-04-22 .. 2026-06-05), DIR/accounts.parquet, DIR/labels.parquet.
See README.md next to this file for the populations and their tradecraft.
"""
from __future__ import annotations

import argparse
import bisect
import datetime as dt
import ipaddress
import math
import os
import random
import sys
import time

import numpy as np
import polars as pl

UTC = dt.timezone.utc
WIN_START = dt.datetime(2026, 4, 22, tzinfo=UTC)
N_DAYS = 45
DAY = 86400
T0 = int(WIN_START.timestamp())
T_END = T0 + N_DAYS * DAY
LAUNCH_DAY = 21  # 2026-05-13: helix-pro-2026-05 released (product launch, signup bump)
LAUNCH_T = T0 + LAUNCH_DAY * DAY
WEEKDAY0 = 2  # 2026-04-22 is a Wednesday (Mon=0)
M64 = (1 << 64) - 1


def ts_of(y, m, d, hh=0, mm=0):
    return int(dt.datetime(y, m, d, hh, mm, tzinfo=UTC).timestamp())


# ----------------------------------------------------------------------------------------------
# identifiers
# ----------------------------------------------------------------------------------------------

def mix64(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class IdGen:
    """Unique hex ids: a bijective 64-bit mix of (base + counter)."""

    def __init__(self, seed: int, salt: int, prefix: str, width: int = 16):
        self.base = mix64(seed * 7919 + salt * 104729 + 17)
        self.i = 0
        self.prefix = prefix
        self.width = width

    def next(self) -> str:
        self.i += 1
        v = mix64((self.base + self.i) & M64)
        if self.width < 16:
            v >>= 64 - 4 * self.width
        return f"{self.prefix}{v:0{self.width}x}"


def request_ids(seed: int, n: int) -> list:
    base = np.uint64(mix64(seed * 31337 + 99))
    z = np.arange(1, n + 1, dtype=np.uint64) + base
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return [f"req_{int(v):016x}" for v in z.tolist()]


# ----------------------------------------------------------------------------------------------
# small random helpers
# ----------------------------------------------------------------------------------------------

class WChoice:
    """Weighted choice over a fixed list (bisect on cumulative weights)."""

    def __init__(self, pairs):
        self.items = [p[0] for p in pairs]
        cw, s = [], 0.0
        for p in pairs:
            s += p[1]
            cw.append(s)
        self.cw = cw
        self.total = s

    def __call__(self, r: random.Random):
        return self.items[bisect.bisect_right(self.cw, r.random() * self.total)]


def pick(r, seq):
    return seq[int(r.random() * len(seq))]


def soft_clamp(r, x, lo, hi, jitter=1800.0):
    """Clamp into [lo, hi] without piling values onto the bounds."""
    if x < lo:
        return lo + r.random() * jitter
    if x > hi:
        return hi - r.random() * jitter
    return x


def lognorm_int(r, median, sigma, lo=1, hi=10 ** 9):
    v = int(round(median * math.exp(r.gauss(0.0, sigma))))
    return max(lo, min(hi, v))


# ----------------------------------------------------------------------------------------------
# geography: countries, time zones (DST in effect in Apr-Jun), e-mail domains, ISPs
# ----------------------------------------------------------------------------------------------

COUNTRY = {
    # cc: (consumer weight, [(utc offset, w)], extra e-mail domains [(domain, w)])
    "US": (28, [(-4, 47), (-5, 30), (-6, 5), (-7, 18)], [("yahoo.com", 9), ("outlook.com", 6), ("hotmail.com", 6), ("icloud.com", 10), ("aol.com", 2), ("comcast.net", 2)]),
    "IN": (10, [(5.5, 1)], [("yahoo.co.in", 5), ("outlook.com", 5), ("rediffmail.com", 2), ("hotmail.com", 3)]),
    "GB": (6, [(1, 1)], [("hotmail.co.uk", 8), ("yahoo.co.uk", 5), ("outlook.com", 6), ("btinternet.com", 3), ("icloud.com", 8)]),
    "DE": (5, [(2, 1)], [("gmx.de", 14), ("web.de", 14), ("t-online.de", 6), ("outlook.de", 4), ("icloud.com", 4)]),
    "BR": (5, [(-3, 1)], [("hotmail.com", 12), ("outlook.com", 6), ("yahoo.com.br", 5), ("uol.com.br", 2), ("bol.com.br", 2)]),
    "CA": (4, [(-4, 55), (-6, 10), (-7, 35)], [("hotmail.com", 8), ("outlook.com", 6), ("yahoo.ca", 5), ("icloud.com", 8), ("shaw.ca", 2), ("rogers.com", 2)]),
    "FR": (4, [(2, 1)], [("orange.fr", 10), ("free.fr", 6), ("hotmail.fr", 8), ("laposte.net", 3), ("outlook.fr", 4), ("icloud.com", 4)]),
    "JP": (3, [(9, 1)], [("yahoo.co.jp", 15), ("icloud.com", 10), ("docomo.ne.jp", 4), ("outlook.jp", 3)]),
    "AU": (3, [(10, 75), (8, 15), (9.5, 10)], [("outlook.com", 6), ("hotmail.com", 6), ("icloud.com", 10), ("bigpond.com", 4), ("yahoo.com.au", 3)]),
    "MX": (3, [(-6, 1)], [("hotmail.com", 18), ("outlook.com", 8), ("yahoo.com.mx", 5)]),
    "ES": (2.5, [(2, 1)], [("hotmail.com", 12), ("outlook.es", 6), ("yahoo.es", 4), ("icloud.com", 4)]),
    "IT": (2.5, [(2, 1)], [("libero.it", 8), ("hotmail.it", 8), ("yahoo.it", 4), ("outlook.it", 4), ("virgilio.it", 3)]),
    "NL": (2, [(2, 1)], [("hotmail.com", 8), ("outlook.com", 8), ("ziggo.nl", 4), ("kpnmail.nl", 3), ("icloud.com", 5)]),
    "KR": (2, [(9, 1)], [("naver.com", 30), ("daum.net", 8), ("kakao.com", 5)]),
    "ID": (2.5, [(7, 80), (8, 15), (9, 5)], [("yahoo.co.id", 6), ("yahoo.com", 6), ("outlook.com", 3)]),
    "PH": (2.5, [(8, 1)], [("yahoo.com", 10), ("outlook.com", 4)]),
    "PL": (1.5, [(2, 1)], [("wp.pl", 10), ("onet.pl", 8), ("o2.pl", 5), ("interia.pl", 4)]),
    "TR": (1.5, [(3, 1)], [("hotmail.com", 15), ("outlook.com", 5), ("yandex.com", 3)]),
    "VN": (1.5, [(7, 1)], [("yahoo.com", 6), ("outlook.com", 3)]),
    "NG": (1.5, [(1, 1)], [("yahoo.com", 12), ("outlook.com", 4)]),
    "EG": (1, [(3, 1)], [("yahoo.com", 10), ("hotmail.com", 8)]),
    "PK": (1, [(5, 1)], [("yahoo.com", 8), ("hotmail.com", 6)]),
    "SG": (1, [(8, 1)], [("yahoo.com.sg", 4), ("hotmail.com", 6), ("icloud.com", 8)]),
}
CONSUMER_CC = WChoice([(cc, v[0]) for cc, v in COUNTRY.items()])
TZ_PICK = {cc: WChoice(v[1]) for cc, v in COUNTRY.items()}
EMAIL_PICK = {cc: WChoice([("gmail.com", 55), ("proton.me", 2)] + v[2]) for cc, v in COUNTRY.items()}

# (asn, [ipv4 prefixes], ipv6 prefix or None)
HOME_ISPS = {
    "US": [(7922, ["73.0.0.0/8", "98.192.0.0/10", "24.0.0.0/12", "67.160.0.0/11"], "2601::/20"),
           (20115, ["71.80.0.0/13", "75.128.0.0/11", "97.80.0.0/12"], "2600:6c00::/24"),
           (7018, ["99.0.0.0/10", "107.128.0.0/11", "76.192.0.0/10"], "2600:1700::/28"),
           (701, ["71.160.0.0/11", "108.16.0.0/12", "96.224.0.0/11"], "2600:4040::/28"),
           (22773, ["68.96.0.0/12", "70.160.0.0/11"], "2600:8800::/24"),
           (209, ["65.100.0.0/14", "71.32.0.0/13"], None),
           (11427, ["70.112.0.0/13", "24.160.0.0/13"], "2605:6000::/24"),
           (5650, ["47.184.0.0/13", "50.32.0.0/13"], None)],
    "IN": [(24560, ["122.160.0.0/12", "59.88.0.0/13"], None),
           (55836, ["49.204.0.0/14", "157.48.0.0/14"], "2405:201::/32"),
           (24309, ["106.51.0.0/16", "49.207.0.0/16"], None),
           (9829, ["117.192.0.0/11"], None),
           (17488, ["183.82.0.0/15"], None)],
    "GB": [(2856, ["86.128.0.0/10", "81.128.0.0/11"], "2a00:23c0::/26"),
           (5089, ["82.0.0.0/14", "86.0.0.0/13"], "2a02:c7c::/30"),
           (5607, ["90.192.0.0/11", "2.96.0.0/13"], "2a02:c78::/30"),
           (13285, ["78.144.0.0/13"], None)],
    "DE": [(3320, ["79.192.0.0/10", "91.0.0.0/10", "87.128.0.0/10"], "2003::/19"),
           (3209, ["88.64.0.0/12", "94.134.0.0/15"], "2a02:8100::/27"),
           (6805, ["77.0.0.0/13", "95.112.0.0/12"], None),
           (8881, ["62.226.0.0/15", "212.114.0.0/16"], "2001:16b8::/29")],
    "BR": [(28573, ["177.0.0.0/13", "191.176.0.0/12"], "2804:14c::/31"),
           (18881, ["177.92.0.0/14", "187.0.0.0/11"], "2804:7f0::/28"),
           (7738, ["179.0.0.0/11"], None)],
    "CA": [(812, ["99.224.0.0/11", "174.112.0.0/12"], "2607:fea8::/29"),
           (577, ["70.48.0.0/13", "142.112.0.0/13", "174.88.0.0/13"], None),
           (6327, ["68.144.0.0/12", "70.64.0.0/12"], "2604:3d00::/24"),
           (5769, ["24.200.0.0/13"], None)],
    "FR": [(3215, ["90.0.0.0/10", "86.192.0.0/11", "92.128.0.0/10"], "2a01:cb00::/24"),
           (12322, ["82.64.0.0/14", "88.160.0.0/11", "78.192.0.0/10"], "2a01:e00::/26"),
           (15557, ["77.128.0.0/13", "109.8.0.0/13"], None),
           (5410, ["89.80.0.0/12"], None)],
    "JP": [(4713, ["153.128.0.0/9", "114.144.0.0/12"], "2400:4050::/30"),
           (2516, ["106.128.0.0/10", "111.96.0.0/11"], "2001:268::/32"),
           (17676, ["126.0.0.0/8"], "2400:2410::/28")],
    "AU": [(1221, ["101.160.0.0/11", "120.144.0.0/12", "58.160.0.0/12"], "2001:8003::/32"),
           (4804, ["49.176.0.0/14", "211.26.0.0/15"], None),
           (7545, ["110.140.0.0/14", "27.32.0.0/11"], "2001:4479::/32")],
    "MX": [(8151, ["187.128.0.0/11", "189.128.0.0/11", "201.96.0.0/11"], None),
           (22884, ["187.188.0.0/14"], None),
           (13999, ["189.203.0.0/16", "177.224.0.0/12"], None)],
    "ES": [(3352, ["83.32.0.0/11", "88.0.0.0/11", "80.24.0.0/13"], None),
           (12479, ["90.160.0.0/11"], None),
           (12430, ["85.48.0.0/13"], None),
           (57269, ["79.116.0.0/14"], None)],
    "IT": [(3269, ["79.0.0.0/11", "87.0.0.0/11"], None),
           (12874, ["93.32.0.0/14"], "2001:b07::/32"),
           (30722, ["2.32.0.0/13"], None),
           (1267, ["151.0.0.0/11"], None)],
    "NL": [(1136, ["77.160.0.0/12", "145.128.0.0/10"], "2a02:a400::/26"),
           (33915, ["84.24.0.0/13", "77.248.0.0/14"], "2001:1c00::/23"),
           (50266, ["217.62.0.0/16"], None)],
    "KR": [(4766, ["175.192.0.0/10", "211.196.0.0/14"], None),
           (9318, ["58.120.0.0/13", "1.224.0.0/11"], None),
           (17858, ["106.240.0.0/12"], None)],
    "ID": [(7713, ["36.64.0.0/11", "180.240.0.0/13"], None),
           (17451, ["112.78.128.0/18", "202.169.32.0/19"], None),
           (23700, ["139.192.0.0/11"], None)],
    "PH": [(9299, ["112.198.0.0/16", "49.144.0.0/14"], None),
           (17639, ["122.2.0.0/16", "49.150.0.0/15"], None)],
    "PL": [(5617, ["83.0.0.0/11", "89.64.0.0/13"], None),
           (6830, ["89.72.0.0/13"], None),
           (12741, ["83.238.0.0/15"], None)],
    "TR": [(9121, ["78.160.0.0/12", "88.224.0.0/11"], None),
           (34984, ["78.180.0.0/14"], None)],
    "VN": [(7552, ["27.64.0.0/12", "171.224.0.0/11"], None),
           (45899, ["14.160.0.0/11", "113.160.0.0/11"], None),
           (18403, ["42.112.0.0/13"], None)],
    "NG": [(29465, ["102.88.0.0/15"], None),
           (36873, ["105.112.0.0/12"], None)],
    "EG": [(8452, ["41.32.0.0/14", "156.192.0.0/11"], None),
           (24835, ["41.36.0.0/14"], None)],
    "PK": [(17557, ["39.32.0.0/13", "182.176.0.0/12"], None),
           (38193, ["119.152.0.0/13"], None)],
    "SG": [(3758, ["116.14.0.0/15", "119.74.0.0/15"], None),
           (4657, ["101.127.0.0/16"], None),
           (17547, ["220.255.0.0/16"], None)],
}
MOBILE_CARRIERS = {
    # cc: [(asn, [ipv4 cgnat egress prefixes], ipv6 prefix or None, base pool size)]
    "US": [(21928, ["172.56.0.0/14", "172.32.0.0/13"], "2607:fb90::/32", 300), (6167, ["174.192.0.0/10"], "2600:1000::/28", 160),
           (20057, ["166.128.0.0/9"], "2600:380::/28", 140)],
    "IN": [(55836, ["49.36.0.0/14", "157.40.0.0/14"], "2409:4000::/22", 360), (45609, ["106.192.0.0/11"], "2401:4900::/32", 220),
           (38266, ["42.104.0.0/14"], None, 90)],
    "GB": [(12576, ["31.64.0.0/13"], None, 90), (25135, ["82.132.0.0/16"], None, 70)],
    "DE": [(3320, ["80.187.0.0/16"], "2a01:598::/32", 90), (6805, ["176.0.0.0/13"], None, 80)],
    "BR": [(26615, ["177.24.0.0/13"], None, 100), (28573, ["191.240.0.0/13"], None, 90)],
    "CA": [(36522, ["184.151.0.0/16"], None, 60), (852, ["154.20.0.0/14"], None, 60)],
    "FR": [(5410, ["176.128.0.0/10"], None, 70), (51207, ["80.214.0.0/15"], None, 60)],
    "JP": [(9605, ["1.66.0.0/15", "49.96.0.0/12"], None, 90)],
    "AU": [(1221, ["1.128.0.0/11"], None, 70), (4804, ["49.180.0.0/14"], None, 50)],
    "MX": [(28403, ["200.68.128.0/18"], None, 70)],
    "ES": [(12479, ["176.83.0.0/16"], None, 40)],
    "IT": [(1267, ["151.56.0.0/13"], None, 50)],
    "NL": [(31615, ["62.140.128.0/17"], None, 40)],
    "KR": [(9644, ["223.32.0.0/11"], None, 60)],
    "ID": [(23693, ["114.120.0.0/13", "182.0.0.0/12"], None, 200), (4761, ["114.4.0.0/16"], None, 80)],
    "PH": [(132199, ["112.200.0.0/13"], None, 160), (10139, ["110.54.128.0/17"], None, 100)],
    "PL": [(12912, ["37.47.0.0/16"], None, 40)],
    "TR": [(16135, ["176.232.0.0/13"], None, 60)],
    "VN": [(7552, ["116.96.0.0/12"], None, 60)],
    "NG": [(29465, ["197.210.0.0/15"], None, 140), (36873, ["102.90.0.0/15"], None, 80)],
    "EG": [(24835, ["197.32.0.0/14"], None, 60)],
    "PK": [(45669, ["39.40.0.0/13"], None, 60)],
    "SG": [(9506, ["27.104.0.0/15"], None, 30)],
}
CLOUD = {
    # provider: (asn, [(prefix, cc)])
    "aws-use1": (14618, [("3.80.0.0/12", "US"), ("34.192.0.0/12", "US"), ("54.144.0.0/12", "US"), ("18.204.0.0/14", "US")]),
    "aws": (16509, [("52.0.0.0/11", "US"), ("35.160.0.0/13", "US"), ("3.120.0.0/14", "DE"), ("18.130.0.0/16", "GB"),
                    ("52.208.0.0/13", "IE"), ("13.228.0.0/15", "SG"), ("3.6.0.0/15", "IN"), ("54.94.0.0/16", "BR")]),
    "gcp": (396982, [("34.136.0.0/13", "US"), ("35.184.0.0/13", "US"), ("34.88.0.0/16", "FI"), ("35.240.0.0/13", "SG")]),
    "azure": (8075, [("20.36.0.0/14", "US"), ("40.112.0.0/13", "US"), ("52.224.0.0/11", "US"), ("20.50.0.0/16", "NL")]),
    "digitalocean": (14061, [("159.89.0.0/16", "US"), ("167.71.0.0/16", "US"), ("134.209.0.0/16", "DE"), ("164.90.0.0/16", "NL"),
                             ("139.59.0.0/16", "IN"), ("128.199.0.0/16", "SG")]),
    "hetzner": (24940, [("88.198.0.0/16", "DE"), ("116.202.0.0/15", "DE"), ("65.108.0.0/15", "FI")]),
    "ovh": (16276, [("51.68.0.0/16", "FR"), ("54.36.0.0/14", "FR"), ("51.222.0.0/16", "CA")]),
    "linode": (63949, [("172.104.0.0/15", "US"), ("45.79.0.0/16", "US"), ("139.162.0.0/16", "GB")]),
}
DEV_CLOUD_PICK = WChoice([("aws-use1", 22), ("aws", 20), ("gcp", 16), ("azure", 10), ("digitalocean", 10), ("hetzner", 9),
                          ("ovh", 6), ("linode", 7)])
VPN_PROVIDERS = [
    (9009, ["185.195.232.0/22", "89.238.128.0/18", "217.138.192.0/18", "146.70.0.0/16"]),   # M247
    (60068, ["84.17.32.0/19", "195.181.160.0/20", "156.146.32.0/19"]),                      # Datacamp / CDN77
    (62240, ["45.134.140.0/22", "185.245.80.0/22"]),                                         # Clouvider
    (11878, ["37.19.192.0/19"]),                                                             # tzulo
    (14061, ["159.203.0.0/16", "138.68.0.0/16"]),                                            # DigitalOcean (VPN servers)
]
VPN_SERVER_CC = WChoice([("US", 30), ("NL", 9), ("GB", 10), ("DE", 9), ("CH", 5), ("SE", 4), ("CA", 6), ("SG", 5),
                         ("JP", 5), ("FR", 5), ("AU", 4), ("ES", 3), ("HK", 3)])


def parse_net(s):
    n = ipaddress.ip_network(s, strict=False)
    return (int(n.network_address), n.max_prefixlen - n.prefixlen, n.version)


class Net:
    def __init__(self, prefixes):
        self.nets = [parse_net(p) for p in prefixes]
        # weight by size (log) so small blocks are not over-represented
        self.pick = WChoice([(i, 1 + hb) for i, (_, hb, _) in enumerate(self.nets)])

    def addr(self, r) -> int:
        base, hb, _ = self.nets[self.pick(r)]
        while True:
            off = r.getrandbits(hb)
            low = off & 0xFF
            if 1 <= low <= 254:
                return base + off


def v4(i: int) -> str:
    return f"{(i >> 24) & 255}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def v6(i: int) -> str:
    return ipaddress.IPv6Address(i).compressed


def v6_prefix64(r, prefix: str) -> int:
    base, hb, _ = parse_net(prefix)
    # household / device /64 inside the ISP prefix
    sub = r.getrandbits(hb - 64) if hb > 64 else 0
    return base + (sub << 64)


def v6_iid(r, p64: int) -> str:
    return v6(p64 + r.getrandbits(64))


class Geo:
    """Pre-parsed ISP tables and shared pools (CGNAT egress, VPN servers)."""

    def __init__(self, r: random.Random, f: float):
        self.home = {cc: [(asn, Net(p4), p6) for asn, p4, p6 in lst] for cc, lst in HOME_ISPS.items()}
        self.home_pick = {cc: WChoice([(i, 3 if i == 0 else 2 if i == 1 else 1) for i in range(len(lst))])
                          for cc, lst in self.home.items()}
        self.cloud = {k: (asn, [(Net([p]), cc) for p, cc in lst]) for k, (asn, lst) in CLOUD.items()}
        # CGNAT pools: a fixed set of public egress IPs per carrier, shared by everybody on that carrier
        self.cgnat = {}
        for cc, lst in MOBILE_CARRIERS.items():
            out = []
            for asn, p4, p6, size in lst:
                net = Net(p4)
                n = max(6, int(round(size * max(f, 0.02) ** 0.6)))
                pool, seen = [], set()
                while len(pool) < n:
                    a = net.addr(r)
                    if a not in seen:
                        seen.add(a)
                        pool.append(v4(a))
                out.append((asn, pool, p6))
            self.cgnat[cc] = out
        # one popular consumer VPN: server IPs with their exit country
        n_vpn = max(16, int(round(90 * max(f, 0.02) ** 0.5)))
        self.vpn = []
        nets = [(asn, Net(p)) for asn, p in VPN_PROVIDERS]
        for i in range(n_vpn):
            asn, net = nets[i % len(nets)] if i < len(nets) else pick(r, nets)
            self.vpn.append((v4(net.addr(r)), asn, VPN_SERVER_CC(r)))
        self.vpn_by_cc = {}
        for j, (_, _, cc) in enumerate(self.vpn):
            self.vpn_by_cc.setdefault(cc, []).append(j)
        # consumer home IPs by country (residential proxies exit through real households)
        self.household_ips = {}

    def home_isp(self, r, cc):
        lst = self.home[cc]
        return lst[self.home_pick[cc](r)]

    def cloud_ip(self, r, key, cc=None):
        asn, lst = self.cloud[key]
        cands = [x for x in lst if x[1] == cc] if cc else lst
        if not cands:
            cands = lst
        net, ncc = pick(r, cands)
        return (v4(net.addr(r)), asn, ncc)

    def mobile_carrier(self, r, cc):
        lst = self.cgnat.get(cc)
        if not lst:
            return None
        w = [len(p) for _, p, _ in lst]
        x = r.random() * sum(w)
        for c, wi in zip(lst, w):
            if x < wi:
                return c
            x -= wi
        return lst[-1]


# ----------------------------------------------------------------------------------------------
# user agents (browser versions move with the calendar)
# ----------------------------------------------------------------------------------------------

def chrome_major(t):
    # Chrome 147 stable 2026-04-07, 148 on 2026-05-05, 149 on 2026-06-02
    if t >= ts_of(2026, 6, 2):
        return 149
    if t >= ts_of(2026, 5, 5):
        return 148
    return 147


class UA:
    """A device/client; ua(t) renders the user-agent string at time t."""

    __slots__ = ("kind", "lag", "x", "y", "s")

    def __init__(self, kind, r):
        self.kind = kind
        self.lag = 0 if r.random() < 0.6 else (1 if r.random() < 0.75 else 2)
        self.x = r.randint(0, 9)
        self.y = r.randint(40, 200)
        self.s = None
        if kind in ("android_app", "android_chrome"):
            self.s = pick(r, ANDROID_DEVICES)

    def ua(self, t):
        k = self.kind
        if k in ("win_chrome", "mac_chrome", "linux_chrome", "chromeos", "win_edge", "android_chrome"):
            v = chrome_major(t) - self.lag
            if k == "win_chrome":
                return f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"
            if k == "mac_chrome":
                return f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"
            if k == "linux_chrome":
                return f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"
            if k == "chromeos":
                return f"Mozilla/5.0 (X11; CrOS x86_64 16328.{self.x}.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"
            if k == "win_edge":
                return (f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
                        f"Safari/537.36 Edg/{v}.0.{3100 + (v - 145) * 64 + self.x}.{self.y % 100}")
            return f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36"
        if k in ("win_firefox", "mac_firefox", "linux_firefox"):
            v = chrome_major(t) + 3 - self.lag
            plat = {"win_firefox": "Windows NT 10.0; Win64; x64", "mac_firefox": "Macintosh; Intel Mac OS X 10.15",
                    "linux_firefox": "X11; Ubuntu; Linux x86_64"}[k]
            return f"Mozilla/5.0 ({plat}; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"
        if k in ("mac_safari", "ios_safari", "ipad_safari"):
            sv = "26.5" if t >= ts_of(2026, 5, 19) and self.lag == 0 else ("26.4.1" if self.lag <= 1 else "26.3")
            if k == "mac_safari":
                return f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{sv} Safari/605.1.15"
            dev = "iPhone; CPU iPhone OS 18_6 like Mac OS X" if k == "ios_safari" else "iPad; CPU OS 18_6 like Mac OS X"
            return f"Mozilla/5.0 ({dev}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{sv} Mobile/15E148 Safari/604.1"
        if k in ("ios_app", "android_app"):
            wk = max(0, int((t - ts_of(2026, 3, 31)) // (14 * DAY)))
            minor = 14 + wk - self.lag
            patch = self.x % 3
            if k == "ios_app":
                return f"HelixChat/3.{minor}.{patch} (iPhone; iOS 26.{3 + (self.x % 3)}; Scale/3.00)"
            return f"HelixChat/3.{minor}.{patch} (Android {13 + self.x % 4}; {self.s})"
        raise ValueError(k)


ANDROID_DEVICES = ["SM-S928B", "SM-S921U", "SM-A546E", "SM-A155F", "SM-G991B", "Pixel 8", "Pixel 9 Pro", "Pixel 7a",
                   "moto g54 5G", "moto g power 5G - 2024", "Redmi Note 13 Pro", "23108RN04Y", "CPH2581", "V2250",
                   "2312DRA50G", "RMX3761", "Infinix X6833B", "TECNO KI5k", "SM-A356E", "OnePlus 12R"]
DESKTOP_UA = WChoice([("win_chrome", 34), ("mac_chrome", 12), ("win_edge", 12), ("mac_safari", 10), ("win_firefox", 4),
                      ("mac_firefox", 1.5), ("linux_chrome", 2), ("chromeos", 2), ("linux_firefox", 1)])
PHONE_UA = WChoice([("ios_app", 30), ("android_app", 24), ("ios_safari", 22), ("android_chrome", 22), ("ipad_safari", 2)])
CORP_UA = WChoice([("win_chrome", 45), ("win_edge", 35), ("mac_chrome", 14), ("mac_safari", 4), ("win_firefox", 2)])


def sdk_ua(r, lang=None):
    lang = lang or WChoice([("py", 58), ("node", 25), ("go", 5), ("java", 3), ("curl", 3), ("httpx", 3), ("lc", 3)])(r)
    if lang == "py":
        return f"helix-python/1.{r.randint(30, 44)}.{r.randint(0, 3)}"
    if lang == "node":
        return f"helix-node/4.{r.randint(2, 9)}.{r.randint(0, 4)}"
    if lang == "go":
        return f"helix-go/0.{r.randint(8, 12)}.{r.randint(0, 2)}"
    if lang == "java":
        return f"helix-java/0.{r.randint(5, 7)}.{r.randint(0, 3)} (Java 21.0.{r.randint(2, 6)})"
    if lang == "curl":
        return f"curl/8.{r.randint(5, 14)}.{r.randint(0, 1)}"
    if lang == "httpx":
        return "python-httpx/0.28.1"
    return f"langchain-helix/0.3.{r.randint(2, 19)} helix-python/1.{r.randint(36, 44)}.0"


# ----------------------------------------------------------------------------------------------
# models and token counts
# ----------------------------------------------------------------------------------------------

def model_name(tier, t, pinned_old=False):
    if tier == "lite":
        return "helix-lite-2026-01"
    if tier == "standard":
        return "helix-standard-2026-03"
    if tier == "reason":
        return "helix-reason-2026-04"
    if t >= LAUNCH_T and not pinned_old:
        return "helix-pro-2026-05"
    return "helix-pro-2026-02"


OUT_MED = {"tiny": 30, "chat": 210, "write": 420, "code": 540, "extract": 55, "summary": 140, "reason": 760,
           "explain": 470, "mcq": 520, "label": 3}
OUT_SIG = {"tiny": 0.6, "chat": 0.7, "write": 0.55, "code": 0.6, "extract": 0.5, "summary": 0.45, "reason": 0.55,
           "explain": 0.5, "mcq": 0.5, "label": 0.3}


def out_tokens(r, kind, model):
    m = OUT_MED[kind]
    if model.startswith("helix-reason") and kind in ("reason", "mcq", "code", "explain"):
        m *= 2.3   # hidden reasoning tokens are billed as output
    elif model.startswith("helix-reason"):
        m *= 1.5
    elif model.startswith("helix-lite"):
        m *= 0.8
    return lognorm_int(r, m, OUT_SIG[kind], 1, 32000)


def in_tokens(r, prompt, system, context):
    n = int(len(prompt) / 3.9) + 7
    if system:
        n += int(len(system) / 3.9) + 4
    return n + context


# ----------------------------------------------------------------------------------------------
# text: vocabularies
# ----------------------------------------------------------------------------------------------

FIRST = ["Maya", "Liam", "Priya", "Carlos", "Aisha", "Noah", "Sofia", "Kenji", "Olivia", "Mateo", "Fatima", "Ethan",
         "Chloe", "Arjun", "Zoe", "Lucas", "Amara", "Daniel", "Hana", "Omar", "Grace", "Diego", "Leila", "Samuel",
         "Nina", "Ravi", "Emma", "Tariq", "Isabel", "Jonah", "Mei", "Kwame", "Ava", "Elena", "Marcus", "Yuki",
         "Rosa", "Benjamin", "Anika", "Felix", "Chidi", "Sara", "Tom", "Ingrid", "Pablo", "Lena", "Jamal", "Mila",
         "Oscar", "Divya", "Hugo", "Nora", "Kofi", "Julia", "Andre", "Tanvi", "Ivan", "Lucy", "Mohammed", "Ruth"]
SHE = {"Maya", "Priya", "Aisha", "Sofia", "Olivia", "Fatima", "Chloe", "Zoe", "Amara", "Hana", "Grace", "Leila", "Nina",
       "Emma", "Isabel", "Mei", "Ava", "Elena", "Yuki", "Rosa", "Anika", "Sara", "Ingrid", "Lena", "Mila", "Divya",
       "Nora", "Julia", "Tanvi", "Lucy", "Ruth"}
LAST = ["Patel", "Nguyen", "Garcia", "Smith", "Okafor", "Kim", "Müller", "Rossi", "Tanaka", "Silva", "Cohen", "Hughes",
        "Novak", "Haddad", "Larsen", "Mendes", "Singh", "Dubois", "Walker", "Ito", "Kowalski", "Ahmed", "Brown", "Lopez"]
ITEMS = [("apple", "apples"), ("sticker", "stickers"), ("notebook", "notebooks"), ("cupcake", "cupcakes"),
         ("marble", "marbles"), ("book", "books"), ("pencil", "pencils"), ("seashell", "seashells"), ("card", "cards"),
         ("cookie", "cookies"), ("bead", "beads"), ("toy car", "toy cars"), ("egg", "eggs"), ("plant", "plants"),
         ("comic", "comics"), ("candle", "candles"), ("stamp", "stamps"), ("muffin", "muffins"), ("ticket", "tickets")]
CITY_PAIRS = [("Boston", "New York"), ("Chicago", "Detroit"), ("Dallas", "Houston"), ("Paris", "Lyon"),
              ("Madrid", "Valencia"), ("Toronto", "Montreal"), ("Delhi", "Jaipur"), ("Osaka", "Nagoya"),
              ("Berlin", "Hamburg"), ("Sydney", "Canberra"), ("Denver", "Salt Lake City"), ("Milan", "Bologna")]
LANGS = ["Python", "JavaScript", "TypeScript", "Java", "C++", "Go", "Rust", "C#", "Kotlin", "Swift", "Ruby", "C"]
WORDS = ["MISSISSIPPI", "BANANA", "STATISTICS", "COMMITTEE", "BALLOON", "ALGEBRA", "PEPPER", "TENNESSEE", "SUCCESS",
         "ARRANGEMENT", "CALCULUS", "PARALLEL", "ENGINEERING", "BOOKKEEPER", "CANADA", "LETTER", "MATHEMATICS",
         "PROBABILITY", "GEOMETRY", "ASSASSIN", "REFERENCE", "COFFEE", "GOOGOL", "DIFFERENTIAL"]


def poly(r, deg=None, var="x"):
    deg = deg or r.randint(2, 5)
    terms = []
    for p in range(deg, -1, -1):
        if p < deg and r.random() < 0.35:
            continue
        c = r.randint(1, 12) * (1 if r.random() < 0.7 else -1)
        if p == 0:
            t = f"{abs(c)}"
        elif p == 1:
            t = f"{'' if abs(c) == 1 else abs(c)}{var}"
        else:
            t = f"{'' if abs(c) == 1 else abs(c)}{var}^{p}"
        if not terms:
            terms.append(("-" if c < 0 else "") + t)
        else:
            terms.append(("- " if c < 0 else "+ ") + t)
    return " ".join(terms)


def func_expr(r):
    a, b, n = r.randint(2, 9), r.randint(1, 9), r.randint(2, 6)
    k = r.randint(0, 13)
    return [poly(r), f"{a}x^{n} sin({b}x)", f"e^({a}x) cos({b}x)", f"ln({a}x^2 + {b})", f"({a}x + {b})/(x^2 + {n})",
            f"sqrt({a}x^3 + {b}x)", f"x^{n} e^(-{a}x)", f"arctan({a}x^2)", f"sin^{n}(x) cos(x)", f"(x^2 + {a})^{n}",
            f"x ln({a}x)", f"tan({a}x) sec({b}x)", f"{a}^x + x^{n}", f"cos(sqrt({a}x + {b}))"][k]


# ---------------------------------------------------------------- math
def q_linear(r):
    a, b, c, d = r.randint(2, 19), r.randint(1, 90), r.randint(1, 15), r.randint(1, 90)
    if a == c:
        a += 1
    eq = f"{a}x + {b} = {c}x - {d}" if r.random() < 0.6 else f"{a}(x - {r.randint(1, 9)}) = {c}x + {b}"
    return pick(r, [f"Solve for x: {eq}", f"Find x if {eq}.", f"What value of x satisfies {eq}?",
                    f"If {eq}, what is x?", f"Solve the equation {eq}.", f"{eq}. Find x."])


def q_quadratic(r):
    p, q = r.randint(-12, 12), r.randint(-12, 12)
    a = r.choice([1, 1, 1, 2, 3, 4, 5])
    b, c = -a * (p + q) + r.choice([0, 0, 0, 1, -1]), a * p * q
    e = f"{a if a > 1 else ''}x^2 {'+' if b >= 0 else '-'} {abs(b)}x {'+' if c >= 0 else '-'} {abs(c)}"
    return pick(r, [f"Solve {e} = 0.", f"Find the roots of {e} = 0.", f"Factor {e} completely, if possible.",
                    f"For what values of x is {e} < 0?", f"Find the vertex and axis of symmetry of y = {e}.",
                    f"How many real solutions does {e} = 0 have, and what are they?"])


def q_system(r):
    x, y = r.randint(-9, 12), r.randint(-9, 12)
    a, b, d, e = r.randint(1, 9), r.randint(1, 9), r.randint(1, 9), r.randint(1, 9)
    if a * e == b * d:
        e += 1
    c, f = a * x + b * y, d * x - e * y
    return pick(r, [f"Solve the system of equations: {a}x + {b}y = {c} and {d}x - {e}y = {f}.",
                    f"Find x and y such that {a}x + {b}y = {c} and {d}x - {e}y = {f}.",
                    f"Use elimination to solve: {a}x + {b}y = {c}, {d}x - {e}y = {f}."])


def q_calculus(r):
    f = func_expr(r)
    a, b = r.randint(0, 3), r.randint(4, 9)
    k = r.randint(0, 11)
    if k == 0:
        return pick(r, [f"Find the derivative of f(x) = {f}.", f"Differentiate {f} with respect to x.",
                        f"What is d/dx of {f}?", f"Compute f'(x) for f(x) = {f}."])
    if k == 1:
        return pick(r, [f"Evaluate the integral of {f} dx.", f"Find the antiderivative of {f}.",
                        f"Compute the indefinite integral ∫ {f} dx."])
    if k == 2:
        return f"Evaluate the definite integral of {poly(r, r.randint(2, 4))} from x = {a} to x = {b}."
    if k == 3:
        c = r.randint(1, 6)
        return pick(r, [f"Find the limit as x approaches {c} of (x^2 - {c * c})/(x - {c}) + {r.randint(1, 9)}x.",
                        f"Evaluate lim x→0 of (sin({c}x) - {c}x)/x^3.",
                        f"Find lim x→∞ of ({poly(r, 2)})/({poly(r, 2)}).",
                        f"What is the limit of (1 + {c}/n)^(n) as n goes to infinity?",
                        f"Evaluate lim x→0 of (e^({c}x) - 1 - {c}x)/x^2."])
    if k == 4:
        p = r.randint(2, 5)
        return pick(r, [f"Does the series sum from n=1 to infinity of n/({r.randint(1, 9)}n^{p} + {r.randint(1, 20)}) converge or diverge?",
                        f"Determine whether the series Σ (-1)^n / n^(1/{p}) converges absolutely, conditionally, or diverges.",
                        f"Use the ratio test on Σ {r.randint(2, 9)}^n / n! and state whether it converges.",
                        f"Find the radius and interval of convergence of Σ (x - {r.randint(1, 5)})^n / ({r.randint(2, 9)}^n · n)."])
    if k == 5:
        return f"Find the Taylor series of {pick(r, ['e^x', 'sin(x)', 'cos(x)', 'ln(1 + x)', '1/(1 - x)', 'sqrt(1 + x)', 'arctan(x)'])} centered at x = {pick(r, ['0', '1', '2', 'π/2', '-1'])} up to the x^{r.randint(3, 6)} term."
    if k == 6:
        L = r.randint(60, 2000)
        return pick(r, [f"A farmer has {L} meters of fencing to enclose a rectangular field along a straight river; no fence is needed along the river. What dimensions maximize the area?",
                        f"An open-top box is made from a {r.randint(8, 40)} by {r.randint(8, 40)} inch sheet by cutting equal squares from each corner. What size square maximizes the volume?",
                        f"A cylindrical can must hold {L} cm^3. What radius and height minimize the surface area?"])
    if k == 7:
        return f"A ladder {r.randint(10, 30)} ft long leans against a wall. The bottom slides away at {r.randint(1, 4)} ft/s. How fast is the top sliding down when the bottom is {r.randint(5, 9)} ft from the wall?"
    if k == 8:
        return f"Find the area between the curves y = {poly(r, 2)} and y = {r.randint(1, 9)}x + {r.randint(1, 20)}."
    if k == 9:
        return f"Solve the differential equation dy/dx = {pick(r, ['x y', 'y^2 cos(x)', f'{a + 1}y - {b}', 'x + y', f'y/(x + {b})', 'e^(x - y)'])} with y(0) = {r.randint(1, 5)}."
    if k == 10:
        return f"Use integration by parts to evaluate ∫ x^{r.randint(1, 3)} {pick(r, ['e^x', 'sin(x)', 'cos(2x)', 'ln(x)'])} dx."
    return f"Find the volume of the solid obtained by rotating the region under y = {pick(r, ['sqrt(x)', 'x^2', 'e^x', '1/x', 'sin(x)'])} from x = {a + 1} to x = {b} about the {pick(r, ['x-axis', 'y-axis'])}."


def q_word(r):
    n1, n2 = pick(r, FIRST), pick(r, FIRST)
    she = "she" if n1 in SHE else "he"
    her = "her" if n1 in SHE else "his"
    it, its = pick(r, ITEMS)
    a, b, c, d = r.randint(3, 60), r.randint(2, 12), r.randint(3, 24), r.randint(2, 30)
    k = r.randint(0, 11)
    if k == 0:
        return f"{n1} has {a} {its}. {she.capitalize()} buys {b} packs with {c} {its} in each pack, then gives {d} to {n2}. How many {its} does {n1} have now?"
    if k == 1:
        p1, p2 = r.randint(2, 40) + r.choice([0, 0.5, 0.25, 0.75]), r.randint(1, 15) + r.choice([0, 0.5, 0.99])
        bill = pick(r, [50, 100, 200])
        return f"{n1} buys {b} {its} at ${p1:g} each and {d % 9 + 2} bottles of juice at ${p2:g} each. If {she} pays with a ${bill} bill, how much change does {she} get back?"
    if k == 2:
        c1, c2 = pick(r, CITY_PAIRS)
        v1, v2, dist = r.randint(35, 90), r.randint(35, 90), r.randint(150, 600)
        return f"A train leaves {c1} at {r.randint(6, 11)}:00 am traveling at {v1} mph toward {c2}, which is {dist} miles away. Another train leaves {c2} an hour later traveling toward {c1} at {v2} mph. At what time do they meet?"
    if k == 3:
        h1, h2 = r.randint(2, 12), r.randint(3, 15)
        task = pick(r, ["paint a fence", "mow the lawn", "fill a pool", "assemble the shelves", "clean the house", "grade the exams"])
        return f"{n1} can {task} in {h1} hours and {n2} can do it in {h2} hours. How long will it take them if they work together?"
    if k == 4:
        p, d1, d2 = r.randint(20, 900), r.choice([10, 15, 20, 25, 30, 40]), r.choice([5, 10, 15, 20, 25])
        thing = pick(r, ["jacket", "laptop", "bike", "sofa", "pair of boots", "TV", "guitar", "printer"])
        return f"A {thing} originally costs ${p}. It is discounted {d1}%, and then the sale price is discounted another {d2}%. What is the final price, and what single discount would be equivalent?"
    if k == 5:
        c1, c2, c3 = r.choice([5, 10, 12, 15, 20]), r.choice([30, 35, 40, 50, 60]), 0
        c3 = r.randint(c1 + 2, c2 - 2)
        return f"How many liters of a {c1}% salt solution must be mixed with {r.randint(2, 30)} liters of a {c2}% salt solution to get a {c3}% solution?"
    if k == 6:
        m, y = r.randint(2, 5), r.randint(3, 15)
        rel = pick(r, ["daughter", "son", "niece", "nephew", "younger brother", "younger sister"])
        return f"{n1} is {m} times as old as {her} {rel}. In {y} years, {she} will be {max(2, m - 1)} times as old as {her} {rel}. How old are they now?"
    if k == 7:
        w, goal = r.randint(5, 75), r.randint(300, 3000)
        return f"{n1} already has ${r.randint(10, 200)} saved and puts away ${w} every week. {she.capitalize()} wants to buy something that costs ${goal}. After how many weeks will {she} have enough, and how much will be left over?"
    if k == 8:
        return f"A recipe uses {b} cups of flour for every {d % 5 + 2} cups of sugar. If {n1} has {a} cups of flour and wants to use all of it, how much sugar does {she} need? Give the answer as a mixed number if needed."
    if k == 9:
        return f"A rectangular garden is {r.randint(3, 20)} meters longer than it is wide, and its area is {r.randint(60, 600)} square meters. What are its dimensions, to the nearest hundredth?"
    if k == 10:
        s = r.randint(20, 60)
        return f"{n1} drove to a city at {s} km/h and returned on the same road at {s + r.randint(10, 40)} km/h. The whole trip took {r.randint(3, 9)} hours. How far away is the city?"
    return f"A store sells {its} for ${r.randint(2, 9)} each or {b + 2} for ${r.randint(10, 30)}. {n1} needs {a + 20} {its}. What is the cheapest way to buy them and how much does it cost?"


def q_prob(r):
    k = r.randint(0, 7)
    red, blue, green = r.randint(2, 12), r.randint(2, 12), r.randint(0, 8)
    if k == 0:
        return f"A bag contains {red} red, {blue} blue and {green} green marbles. If you draw {r.randint(2, 4)} marbles without replacement, what is the probability that they are all different colors?" if green else f"A bag contains {red} red and {blue} blue marbles. Two are drawn without replacement. What is the probability both are the same color?"
    if k == 1:
        n = r.randint(2, 4)
        return f"What is the probability of rolling a sum of {r.randint(n + 1, 6 * n - 1)} with {n} fair six-sided dice?"
    if k == 2:
        return f"In a {r.randint(5, 7)}-card hand from a standard 52-card deck, what is the probability of getting exactly {r.randint(1, 3)} {pick(r, ['aces', 'kings', 'hearts', 'face cards', 'spades'])}?"
    if k == 3:
        p = r.randint(1, 9)
        return f"A test for a disease is {r.randint(90, 99)}% sensitive and {r.randint(85, 99)}% specific. The disease affects {p} in {pick(r, [100, 1000, 500, 200])} people. If someone tests positive, what is the probability they actually have the disease?"
    if k == 4:
        return f"A fair coin is flipped {r.randint(6, 15)} times. What is the probability of getting at least {r.randint(3, 8)} heads?"
    if k == 5:
        return f"Two people agree to meet between {r.randint(1, 5)}:00 and {r.randint(6, 8)}:00 pm, and each waits {r.randint(10, 30)} minutes for the other. If they arrive at independent uniformly random times, what is the probability they meet?"
    if k == 6:
        return f"A basketball player makes {r.randint(55, 90)}% of free throws. If she takes {r.randint(5, 12)} shots, what is the probability she makes exactly {r.randint(3, 8)}?"
    return f"What is the expected number of rolls of a fair die needed to see all six faces? Then generalize to an n-sided die and compute it for n = {r.randint(7, 20)}."


def q_numth(r):
    k = r.randint(0, 6)
    a, b, m = r.randint(2, 19), r.randint(20, 400), r.randint(5, 41)
    if k == 0:
        return f"What is the remainder when {a}^{b} is divided by {m}?"
    if k == 1:
        x, y = r.randint(100, 9999), r.randint(100, 9999)
        return f"Find the greatest common divisor of {x} and {y} using the Euclidean algorithm, and express it as a linear combination of the two numbers."
    if k == 2:
        return f"How many positive divisors does {r.randint(100, 99999)} have?"
    if k == 3:
        return f"Find the last two digits of {a}^{b}."
    if k == 4:
        return f"Find all integer solutions to {r.randint(2, 30)}x + {r.randint(2, 30)}y = {r.randint(1, 200)}."
    if k == 5:
        return f"Prove that {pick(r, ['n^3 - n', 'n^5 - n', 'n(n+1)(n+2)', '7^n - 1', '4^n + 5'])} is divisible by {pick(r, ['6', '5', '3', '6', '3'])} for every positive integer n."
    return f"Solve the system of congruences x ≡ {r.randint(0, 4)} (mod 5), x ≡ {r.randint(0, 6)} (mod 7), x ≡ {r.randint(0, 10)} (mod 11)."


def q_geom(r):
    k = r.randint(0, 7)
    a, b = r.randint(3, 20), r.randint(3, 20)
    c = r.randint(abs(a - b) + 1, a + b - 1)
    if k == 0:
        return f"A triangle has sides of length {a}, {b} and {c}. Find its area and the radius of its inscribed circle."
    if k == 1:
        return f"Find the distance between ({r.randint(-9, 9)}, {r.randint(-9, 9)}) and ({r.randint(-9, 9)}, {r.randint(-9, 9)}), and the equation of the perpendicular bisector of the segment joining them."
    if k == 2:
        return f"A cone has radius {a} cm and slant height {a + b} cm. Find its volume and total surface area."
    if k == 3:
        return f"A rectangle has perimeter {2 * (a + b)} and diagonal {round(math.hypot(a, b), 2)}. Find its area."
    if k == 4:
        return f"In triangle ABC, angle A = {r.randint(20, 80)}°, angle B = {r.randint(20, 80)}°, and side a = {a}. Find the remaining sides using the law of sines."
    if k == 5:
        return f"A circle has equation x^2 + y^2 {'+' if a % 2 else '-'} {2 * a}x {'+' if b % 2 else '-'} {2 * b}y + {r.randint(1, 30)} = 0. Find its center and radius."
    if k == 6:
        return f"A regular {pick(r, ['hexagon', 'octagon', 'pentagon', 'decagon'])} has side length {a}. What is its area?"
    return f"Two chords AB and CD of a circle intersect at P. If AP = {a}, PB = {b} and CP = {r.randint(2, 12)}, find PD and explain the theorem you used."


def q_comb(r):
    k = r.randint(0, 5)
    n, kk = r.randint(6, 15), r.randint(2, 5)
    if k == 0:
        return f"How many distinct ways can the letters of the word {pick(r, WORDS)} be arranged?"
    if k == 1:
        return f"In how many ways can a committee of {kk} be chosen from {n} people if two particular people refuse to serve together?"
    if k == 2:
        return f"How many ways can {n} people sit around a round table if {pick(r, ['two specific people must sit together', 'two specific people must not sit next to each other', 'rotations are considered the same'])}?"
    if k == 3:
        return f"How many non-negative integer solutions are there to x1 + x2 + x3 + x4 = {r.randint(8, 30)} with each xi ≤ {r.randint(6, 12)}?"
    if k == 4:
        return f"How many {kk + 2}-digit numbers have digits that are strictly increasing?"
    return f"How many subsets of {{1, 2, ..., {n + 5}}} contain no two consecutive integers?"


def q_linalg(r):
    m = [r.randint(-6, 9) for _ in range(9)]
    k = r.randint(0, 4)
    if k == 0:
        return f"Find the determinant of the matrix [[{m[0]}, {m[1]}, {m[2]}], [{m[3]}, {m[4]}, {m[5]}], [{m[6]}, {m[7]}, {m[8]}]]."
    if k == 1:
        return f"Find the eigenvalues and eigenvectors of [[{m[0]}, {m[1]}], [{m[2]}, {m[3]}]]."
    if k == 2:
        return f"Is the set of vectors ({m[0]}, {m[1]}, {m[2]}), ({m[3]}, {m[4]}, {m[5]}), ({m[6]}, {m[7]}, {m[8]}) linearly independent? Justify."
    if k == 3:
        return f"Find the inverse of [[{m[0]}, {m[1]}], [{m[2]}, {m[3]}]] if it exists, and use it to solve Ax = ({m[4]}, {m[5]})."
    return f"Find an orthonormal basis for the span of ({m[0]}, {m[1]}, {m[2]}) and ({m[3]}, {m[4]}, {m[5]}) using Gram-Schmidt."


def q_stats(r):
    data = sorted(r.randint(1, 99) for _ in range(r.randint(6, 12)))
    k = r.randint(0, 3)
    if k == 0:
        return f"Given the data {', '.join(map(str, data))}, compute the mean, median, and sample standard deviation."
    if k == 1:
        return f"A sample of {r.randint(20, 200)} has mean {r.randint(40, 90)} and standard deviation {r.randint(4, 20)}. Construct a {pick(r, ['90', '95', '99'])}% confidence interval for the population mean."
    if k == 2:
        return f"Scores are normally distributed with mean {r.randint(60, 80)} and SD {r.randint(5, 15)}. What percent of students score above {r.randint(70, 95)}?"
    return f"A company claims its batteries last {r.randint(20, 60)} hours. A sample of {r.randint(15, 60)} batteries has a mean of {r.randint(18, 58)} hours with SD {r.randint(2, 8)}. Test the claim at the 5% significance level."


# ---------------------------------------------------------------- coding
CODE_TASKS = [
    "returns the {k}th largest element in an unsorted array", "checks whether a string is a valid palindrome ignoring punctuation",
    "finds the length of the longest substring without repeating characters", "merges {k} sorted linked lists",
    "detects a cycle in a directed graph", "finds the shortest path in a weighted grid from the top-left to the bottom-right",
    "implements an LRU cache with capacity {k}", "serializes and deserializes a binary tree",
    "returns all permutations of a list of distinct integers", "computes the edit distance between two strings",
    "finds two numbers in an array that add up to {t}", "rotates an n x n matrix 90 degrees clockwise in place",
    "groups a list of words into anagrams", "computes the maximum subarray sum", "finds the median of two sorted arrays",
    "counts the number of islands in a 2D grid of 0s and 1s", "implements a trie with insert, search and startsWith",
    "validates whether a binary tree is a binary search tree", "returns the top {k} most frequent words in a text",
    "parses a CSV line that may contain quoted commas", "implements binary search on a rotated sorted array",
    "finds the longest increasing subsequence", "converts a Roman numeral to an integer", "evaluates a Reverse Polish Notation expression",
    "schedules tasks with cooldown {k} to minimize total time", "finds the minimum number of coins to make amount {t}",
    "implements a rate limiter allowing {k} requests per second", "finds all unique triplets that sum to zero",
    "computes the number of ways to climb {t} stairs taking 1, 2 or 3 steps", "returns the lowest common ancestor of two nodes in a binary tree",
    "implements Dijkstra's algorithm with a priority queue", "topologically sorts a list of tasks with dependencies",
    "checks if a Sudoku board is valid", "finds the kth smallest element in a BST", "decodes a string like 3[a2[c]]",
    "implements a thread-safe bounded queue", "finds the maximum area of water between vertical lines",
    "flattens an arbitrarily nested list", "returns the longest palindromic substring", "merges overlapping intervals",
]
CODE_CONSTRAINTS = ["", "", " in O(n) time", " in O(n log n) time", " using O(1) extra space", " without using built-in sort",
                    " recursively", " iteratively", " with clear comments", " and handles edge cases like empty input",
                    " using dynamic programming", " and include unit tests"]
CONCEPT_PAIRS = [("a process", "a thread"), ("TCP", "UDP"), ("stack memory", "heap memory"), ("an abstract class", "an interface"),
                 ("pass by value", "pass by reference"), ("a mutex", "a semaphore"), ("SQL", "NoSQL databases"),
                 ("optimistic locking", "pessimistic locking"), ("async/await", "threads"), ("BFS", "DFS"),
                 ("a hash map", "a tree map"), ("composition", "inheritance"), ("REST", "gRPC"), ("unit tests", "integration tests"),
                 ("eventual consistency", "strong consistency"), ("L1 regularization", "L2 regularization"),
                 ("a B-tree", "an LSM tree"), ("monolith", "microservices"), ("git merge", "git rebase"), ("a list", "a tuple in Python")]


def snippet(r):
    v = pick(r, ["i", "j", "k", "idx"])
    w = pick(r, ["total", "acc", "s", "count", "res"])
    n = r.randint(3, 12)
    k = r.randint(0, 4)
    if k == 0:
        return f"def f(n):\n    {w} = 0\n    for {v} in range(n):\n        for j2 in range({v}, n, {r.randint(1, 3)}):\n            {w} += j2 % {r.randint(2, 7)}\n    return {w}"
    if k == 1:
        return f"def g(xs):\n    if len(xs) <= 1:\n        return xs\n    m = len(xs) // {r.randint(2, 3)}\n    return g(xs[:m]) + g(xs[m:])"
    if k == 2:
        return f"x = [{', '.join(str(r.randint(0, 9)) for _ in range(5))}]\ny = x\ny.append({n})\nprint(x, len(x) * {r.randint(2, 5)})"
    if k == 3:
        return f"let {w} = 0;\nfor (let {v} = 1; {v} < {n * 10}; {v} *= {r.randint(2, 3)}) {{\n  {w} += {v};\n}}\nconsole.log({w});"
    return f"def h(n, memo={{}}):\n    if n < {r.randint(2, 3)}:\n        return n\n    if n not in memo:\n        memo[n] = h(n - 1) + h(n - {r.randint(2, 3)})\n    return memo[n]\nprint(h({n * 3}))"


def q_code(r):
    k = r.randint(0, 9)
    lang = pick(r, LANGS)
    if k <= 4:
        task = pick(r, CODE_TASKS).replace("{k}", str(r.randint(2, 12))).replace("{t}", str(r.randint(7, 500)))
        c = pick(r, CODE_CONSTRAINTS)
        return pick(r, [f"Write a {lang} function that {task}{c}.", f"How would you write code in {lang} that {task}{c}?",
                        f"Implement a function in {lang} that {task}{c}. Also state the time and space complexity.",
                        f"Give me a {lang} solution to this: a function that {task}{c}.",
                        f"In {lang}, write an efficient function that {task}{c}."])
    if k == 5:
        return f"What is the time complexity of this code, and why?\n\n{snippet(r)}"
    if k == 6:
        return f"What does this code print? Explain.\n\n{snippet(r)}"
    if k == 7:
        a, b = pick(r, CONCEPT_PAIRS)
        return pick(r, [f"What is the difference between {a} and {b}? When would you use each?",
                        f"Compare {a} vs {b} with concrete examples.", f"Explain {a} versus {b} in {lang}."])
    if k == 8:
        return f"Why does this {lang} code give {pick(r, ['a segmentation fault', 'an off-by-one error', 'a race condition', 'a stack overflow', 'the wrong answer for large inputs', 'a null pointer exception'])}?\n\n{snippet(r)}"
    return f"Design a {pick(r, ['URL shortener', 'chat system', 'rate limiter', 'news feed', 'parking lot system', 'file sync service', 'job scheduler', 'leaderboard'])} that supports {r.randint(1, 500)} {pick(r, ['thousand', 'million'])} {pick(r, ['users', 'requests per day', 'writes per second'])}. Walk through the components and trade-offs."


# ---------------------------------------------------------------- science
COMPOUNDS = [("NaCl", 58.44), ("glucose (C6H12O6)", 180.16), ("CaCO3", 100.09), ("KMnO4", 158.03), ("NaOH", 40.0),
             ("H2SO4", 98.08), ("CuSO4·5H2O", 249.69), ("NH4NO3", 80.04), ("KCl", 74.55), ("MgCl2", 95.21)]
ACIDS = ["acetic acid (Ka = 1.8 × 10^-5)", "HCl", "formic acid (Ka = 1.8 × 10^-4)", "HF (Ka = 6.8 × 10^-4)",
         "NH3 (Kb = 1.8 × 10^-5)", "HNO3", "benzoic acid (Ka = 6.3 × 10^-5)", "hypochlorous acid (Ka = 3.0 × 10^-8)"]
PHENOMENA = ["the sky is blue", "ice floats on water", "metals conduct electricity", "the Moon always shows the same face to Earth",
             "we have seasons", "salt lowers the freezing point of water", "leaves change color in autumn", "soap removes grease",
             "airplanes generate lift", "the ocean is salty", "a spinning top doesn't fall over", "stars twinkle",
             "antibiotics don't work on viruses", "mitochondria have their own DNA", "the speed of light is the same for all observers",
             "hot air rises", "catalysts speed up reactions without being consumed", "enzymes denature at high temperature",
             "noble gases are unreactive", "tides happen twice a day", "bridges have expansion joints", "onions make you cry",
             "a bicycle is stable when moving", "superconductors expel magnetic fields", "diamond is harder than graphite",
             "the Earth's core is still hot", "microwaves heat food", "sound travels faster in water than in air"]


def q_science(r):
    k = r.randint(0, 13)
    v, h, m = r.randint(5, 40), r.randint(0, 80), r.randint(1, 90)
    if k == 0:
        return f"A ball is thrown upward at {v} m/s from the top of a {h} m building. How long until it hits the ground, and what is its speed on impact?"
    if k == 1:
        return f"A projectile is launched at {v} m/s at an angle of {r.randint(15, 75)}° above the horizontal. Find its maximum height, time of flight, and range."
    if k == 2:
        return f"A {m} kg block slides down a {r.randint(10, 60)}° incline with coefficient of kinetic friction {r.randint(5, 60) / 100:g}. What is its acceleration?"
    if k == 3:
        rs = [r.randint(2, 100) for _ in range(3)]
        return f"Resistors of {rs[0]} Ω and {rs[1]} Ω are in parallel, and that combination is in series with {rs[2]} Ω across a {r.randint(3, 24)} V battery. Find the current through each resistor."
    if k == 4:
        return f"A gas occupies {r.randint(1, 50)} L at {r.randint(100, 400)} K and {r.randint(1, 5)} atm. What volume does it occupy at {r.randint(250, 600)} K and {r.randint(1, 8)} atm?"
    if k == 5:
        c, mm = pick(r, COMPOUNDS)
        return f"How many grams of {c} are needed to make {r.randint(1, 20) * 50} mL of a {r.choice([0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 1.5, 2.0])} M solution?"
    if k == 6:
        return f"What is the pH of a {pick(r, ['0.1', '0.01', '0.05', '0.25', '1.0', '0.002'])} M solution of {pick(r, ACIDS)}?"
    if k == 7:
        return f"A radioactive isotope has a half-life of {r.randint(2, 90)} {pick(r, ['minutes', 'hours', 'days', 'years'])}. What fraction remains after {r.randint(3, 300)} of those units?"
    if k == 8:
        g1, g2 = pick(r, ["AaBb", "AABb", "Aabb", "AaBB", "aaBb"]), pick(r, ["AaBb", "aabb", "AAbb", "AaBb", "aaBB"])
        return f"In a cross between {g1} and {g2}, assuming independent assortment and complete dominance, what fraction of offspring show both dominant phenotypes?"
    if k == 9:
        return f"In a population in Hardy-Weinberg equilibrium, {r.randint(1, 40)}% of individuals show the recessive phenotype. What are the allele frequencies and the proportion of heterozygous carriers?"
    if k == 10:
        return pick(r, [f"Explain why {pick(r, PHENOMENA)}.", f"Why do {pick(r, PHENOMENA).replace('the ', '', 1)}? Explain the underlying physics or chemistry.",
                        f"Can you explain the science behind why {pick(r, PHENOMENA)}?"])
    if k == 11:
        return f"A {m} kg satellite orbits Earth at an altitude of {r.randint(200, 36000)} km. Find its orbital speed and period."
    if k == 12:
        c, mm = pick(r, COMPOUNDS)
        return f"Balance the combustion of {pick(r, ['propane', 'butane', 'ethanol', 'octane', 'methane', 'glucose'])} and find how many grams of CO2 form from {r.randint(5, 200)} g of fuel."
    return f"A spring with k = {r.randint(50, 900)} N/m is compressed {r.randint(2, 30)} cm and launches a {m / 10:g} kg mass. How fast is the mass moving when it leaves the spring?"


# ---------------------------------------------------------------- law / econ / medicine / logic
JURIS = ["US", "California", "New York", "Texas", "English", "Canadian", "Australian", "Indian", "German", "common"]
ITEMS_LAW = ["used car", "vintage guitar", "horse", "parcel of land", "restaurant business", "domain name", "painting",
             "boat", "software license", "shipment of tomatoes", "wedding dress", "laptop"]


def q_law(r):
    p1, p2 = f"{pick(r, FIRST)} {pick(r, LAST)}", f"{pick(r, FIRST)} {pick(r, LAST)}"
    it, j = pick(r, ITEMS_LAW), pick(r, JURIS)
    price = r.randint(2, 900) * 100
    k = r.randint(0, 9)
    if k == 0:
        return f"{p1} orally agreed to sell {p2} a {it} for ${price:,}. Before delivery, {p1} got a better offer of ${int(price * 1.3):,} and backed out. {p2} sues. Is the agreement enforceable under {j} law?"
    if k == 1:
        return f"{p1} promised to pay {p2} ${price:,} as a gift for graduating. {p2} quit a job relying on the promise, and {p1} never paid. Does {p2} have a claim, and on what theory?"
    if k == 2:
        return f"A store owner left a wet floor unmarked for {r.randint(5, 120)} minutes and {p1}, who was texting, slipped and broke a wrist. How would a court in a {pick(r, ['comparative negligence', 'contributory negligence', 'modified comparative fault'])} jurisdiction allocate liability?"
    if k == 3:
        return f"{p1} has openly used a strip of {p2}'s land as a driveway for {r.randint(5, 30)} years without permission. Can {p1} claim adverse possession under {j} law?"
    if k == 4:
        return f"During a robbery, {p1}'s accomplice {pick(r, ['shot a guard', 'caused a fatal car crash while fleeing', 'had a heart attack', 'was shot by police'])}. Can {p1} be convicted of felony murder?"
    if k == 5:
        return f"A city ordinance bans {pick(r, ['all leafleting in public parks', 'signs criticizing the mayor', 'street performances after 8 pm', 'protests within 500 feet of a clinic'])}. Is it constitutional under the First Amendment?"
    if k == 6:
        return f"At trial, a witness wants to testify that {p2} told her, '{pick(r, ['I saw the blue car run the red light', 'I think I am dying, it was my brother who did this', 'I am going to Chicago tomorrow', 'I was so scared I could not breathe'])}.' Is this hearsay, and does any exception apply?"
    if k == 7:
        return f"{p1} hired {p2} to {pick(r, ['renovate a kitchen', 'build a website', 'cater a wedding', 'repair a roof'])} for ${price:,}. {p2} finished {r.randint(60, 98)}% of the work and stopped. What can {p2} recover under the doctrine of substantial performance?"
    if k == 8:
        return f"A landlord in {pick(r, ['California', 'New York', 'Ontario', 'England', 'Texas'])} wants to keep a ${r.randint(5, 40) * 100:,} security deposit for {pick(r, ['normal wear and tear', 'unpaid utilities', 'a broken window', 'carpet cleaning'])}. Is that allowed?"
    return f"{p1}, an employee, posted complaints about wages on social media and was fired. Does {p1} have a claim under {pick(r, ['the NLRA', 'state whistleblower law', 'wrongful dismissal principles'])}?"


def q_econ(r):
    k = r.randint(0, 7)
    P, rr, n = r.randint(5, 500) * 100, r.randint(2, 12) + r.choice([0, 0.25, 0.5, 0.75]), r.randint(2, 30)
    if k == 0:
        return f"If you invest ${P:,} at {rr}% annual interest compounded {pick(r, ['monthly', 'quarterly', 'daily', 'annually', 'continuously'])}, how much will you have after {n} years?"
    if k == 1:
        return f"A project costs ${P * 10:,} upfront and returns ${P * r.randint(2, 4):,} per year for {r.randint(3, 10)} years. With a discount rate of {rr}%, what is the NPV and should the firm invest?"
    if k == 2:
        a, b, c, d = r.randint(80, 400), r.randint(1, 8), r.randint(0, 40), r.randint(1, 8)
        return f"Demand is Qd = {a} - {b}P and supply is Qs = {c} + {d}P. Find the equilibrium price and quantity, then the effect of a ${r.randint(1, 10)} per-unit tax on consumers and producers."
    if k == 3:
        return f"What is the monthly payment on a ${P * 10:,} mortgage at {rr}% APR over {pick(r, [15, 20, 25, 30])} years, and how much total interest is paid?"
    if k == 4:
        return f"When the price of {pick(r, ['coffee', 'gasoline', 'concert tickets', 'insulin', 'bus fares', 'streaming subscriptions'])} rises from ${r.randint(2, 9)} to ${r.randint(10, 15)}, quantity demanded falls from {r.randint(500, 900)} to {r.randint(100, 490)}. Compute the price elasticity using the midpoint method and interpret it."
    if k == 5:
        return f"Explain why a price ceiling on {pick(r, ['rent', 'bread', 'gasoline', 'prescription drugs', 'electricity'])} below the equilibrium price leads to a shortage, and who gains and loses."
    if k == 6:
        return f"A bond with face value $1,000 pays a {r.randint(2, 9)}% annual coupon and matures in {r.randint(2, 20)} years. If market yields are {rr}%, what is its price?"
    return f"A monopolist faces demand P = {r.randint(50, 200)} - {r.randint(1, 5)}Q and has constant marginal cost {r.randint(5, 40)}. Find the profit-maximizing output, price and deadweight loss."


VIGNETTES = [
    ("crushing chest pain radiating to the left arm", "diaphoresis", "nausea"), ("fever", "stiff neck", "photophobia"),
    ("polyuria", "polydipsia", "weight loss"), ("right lower quadrant pain", "fever", "rebound tenderness"),
    ("sudden severe headache", "vomiting", "neck pain"), ("fatigue", "pallor", "spoon-shaped nails"),
    ("wheezing", "nighttime cough", "shortness of breath after exercise"), ("unilateral leg swelling", "calf pain", "recent long flight"),
    ("heat intolerance", "palpitations", "weight loss despite good appetite"), ("joint pain in the big toe", "redness", "swelling overnight"),
    ("productive cough", "fever", "pleuritic chest pain"), ("facial droop", "slurred speech", "arm weakness"),
    ("jaundice", "dark urine", "pale stools"), ("epigastric pain relieved by eating", "black stools", "fatigue"),
    ("butterfly rash", "joint pain", "fatigue"), ("tremor at rest", "slow movements", "shuffling gait"),
]


def q_med(r):
    age, sex = r.randint(18, 85), pick(r, ["man", "woman"])
    s = pick(r, VIGNETTES)
    extra = pick(r, ["a history of smoking", "type 2 diabetes", "no significant medical history", "recent travel abroad",
                     "a family history of heart disease", "oral contraceptive use", "heavy alcohol use", "hypertension",
                     "chronic kidney disease", "a recent knee surgery", "HIV on treatment", "asthma since childhood"])
    return pick(r, [f"A {age}-year-old {sex} with {extra} presents with {s[0]}, {s[1]}, and {s[2]} for {r.randint(1, 14)} days. What is the most likely diagnosis and what would you order first?",
                    f"Patient: {age} y/o {sex}, {extra}. Symptoms: {s[0]}, {s[1]}, {s[2]}. What is the differential diagnosis, and how would you narrow it down?",
                    f"What condition would explain {s[0]} with {s[1]} and {s[2]} in a {age}-year-old {sex} with {extra}?"])


def q_logic(r):
    names = r.sample(FIRST, 3)
    k = r.randint(0, 4)
    if k == 0:
        return f"On an island, knights always tell the truth and knaves always lie. {names[0]} says, '{names[1]} is a knave.' {names[1]} says, '{names[0]} and {names[2]} are {pick(r, ['the same type', 'different types'])}.' {names[2]} says, '{pick(r, ['I am a knight', 'At least one of us is a knave', names[0] + ' is a knight'])}.' Who is what?"
    if k == 1:
        a, b, c = r.sample(["doctors", "runners", "artists", "cat owners", "teachers", "vegetarians", "musicians", "engineers", "poets"], 3)
        return f"If all {a} are {b}, and some {b} are {c}, does it follow that some {a} are {c}? Explain."
    if k == 2:
        return f"{names[0]}, {names[1]} and {names[2]} each own a different pet (a cat, a dog, a parrot) and live in houses painted red, green and blue. The dog owner lives in the red house. {names[1]} does not own the parrot. {names[2]} lives in the blue house and does not own the cat. Who owns which pet and lives where?"
    if k == 3:
        return f"You have {r.randint(8, 12)} coins, one of which is counterfeit and {pick(r, ['lighter', 'heavier', 'either lighter or heavier'])}. What is the minimum number of weighings on a balance scale to find it, and how?"
    return f"A farmer must cross a river with a wolf, a goat and a cabbage, but the boat holds only the farmer and {pick(r, ['one item', 'one item, and the goat gets seasick on every other trip'])}. How does he get everything across?"


CONCEPTS = ["the central limit theorem", "Bayes' theorem", "how public-key cryptography works", "the Monty Hall problem",
            "why the halting problem is undecidable", "Gödel's incompleteness theorems", "how gradient descent works",
            "the difference between correlation and causation", "why 0.999... equals 1", "how vaccines train the immune system",
            "the prisoner's dilemma", "how compound interest works", "special relativity's time dilation",
            "Simpson's paradox", "how a transistor works", "the birthday paradox", "what entropy really means",
            "why the square root of 2 is irrational", "how the Fourier transform works", "the tragedy of the commons"]


DOMAIN_FN = {"algebra": (q_linear, q_quadratic, q_system), "calculus": (q_calculus,), "word": (q_word,),
             "prob": (q_prob, q_stats), "numth": (q_numth, q_comb), "geom": (q_geom, q_linalg), "code": (q_code,),
             "science": (q_science,), "law": (q_law,), "econ": (q_econ,), "med": (q_med,), "logic": (q_logic,)}
DOMAIN_KIND = {"code": "code", "law": "explain", "med": "explain"}


def q_concept(r):
    return pick(r, [f"Explain {pick(r, CONCEPTS)}.", f"Can you explain {pick(r, CONCEPTS)} with an example?",
                    f"I never understood {pick(r, CONCEPTS)}. What's the intuition?"])


def question(r, dom_pick):
    dom = dom_pick(r)
    if dom == "concept":
        return q_concept(r), "explain", dom
    return pick(r, DOMAIN_FN[dom])(r), DOMAIN_KIND.get(dom, "reason"), dom


GENERAL_DOMAINS = WChoice([("algebra", 9), ("calculus", 9), ("word", 10), ("prob", 7), ("numth", 5), ("geom", 6),
                           ("code", 20), ("science", 14), ("law", 9), ("econ", 6), ("med", 5), ("logic", 4), ("concept", 3)])
HOMEWORK_DOMAINS = WChoice([("algebra", 20), ("calculus", 14), ("word", 14), ("prob", 8), ("geom", 8), ("science", 18),
                            ("code", 8), ("econ", 6), ("concept", 4)])
STEM_DOMAINS = WChoice([("algebra", 16), ("calculus", 18), ("word", 8), ("prob", 10), ("numth", 8), ("geom", 12),
                        ("science", 28)])


# ---------------------------------------------------------------- school math (edtech)
def q_school(r):
    g = r.randint(6, 12)
    k = r.randint(0, 11)
    a, b, c, d = r.randint(1, 12), r.randint(2, 12), r.randint(1, 12), r.randint(2, 12)
    name = pick(r, FIRST)
    if k == 0:
        return g, "Fractions", f"What is {a}/{b} {pick(r, ['+', '-', '×', '÷'])} {c}/{d}? Simplify your answer."
    if k == 1:
        return g, "Percent", f"{name} scored {r.randint(12, 48)} out of {r.randint(50, 60)} on a quiz. What percent is that, rounded to the nearest tenth?"
    if k == 2:
        return g, "Ratios", f"The ratio of boys to girls in a class is {a}:{b}. If there are {(a + b) * r.randint(2, 5)} students, how many are girls?"
    if k == 3:
        return max(g, 7), "Linear equations", f"Solve {a}x {pick(r, ['+', '-'])} {r.randint(1, 30)} = {r.randint(-20, 80)}."
    if k == 4:
        return g, "Geometry", f"Find the area and perimeter of a rectangle that is {a + 2} cm by {b + 3} cm."
    if k == 5:
        return max(g, 8), "Pythagorean theorem", f"A right triangle has legs {a + 2} and {b + 4}. How long is the hypotenuse?"
    if k == 6:
        return max(g, 8), "Slope", f"Find the slope and y-intercept of the line through ({r.randint(-9, 9)}, {r.randint(-9, 9)}) and ({r.randint(-9, 9)}, {r.randint(-9, 9)})."
    if k == 7:
        return max(g, 9), "Systems of equations", q_system(r)
    if k == 8:
        return max(g, 8), "Exponents", f"Simplify ({pick(r, ['x', 'a', 'y'])}^{a} · {pick(r, ['x', 'a', 'y'])}^{b})^{r.randint(2, 4)} and explain the exponent rules."
    if k == 9:
        return g, "Word problems", q_word(r)
    if k == 10:
        return max(g, 9), "Quadratics", q_quadratic(r)
    return g, "Probability", f"A spinner has {b + 2} equal sections numbered 1 to {b + 2}. What is the probability of spinning a number greater than {a % (b + 2) + 1}?"


# ----------------------------------------------------------------------------------------------
# reasoning requests: the farm's large varied pool, students' phrasings
# ----------------------------------------------------------------------------------------------

REASON_VARIED = [
    "Explain step by step.", "Show your work.", "Think carefully and justify each step.", "Walk me through your reasoning step by step.",
    "Please show all intermediate steps.", "Reason through it carefully before giving the final answer.",
    "Break the solution into clear steps and explain why each one works.", "Lay out your full chain of reasoning, then give the answer.",
    "I need the detailed reasoning, not just the answer.", "Go slowly and explain the logic at every step.",
    "Can you show how you arrived at the answer?", "Justify every step of your solution.", "Think out loud and explain your thought process.",
    "Work it out step-by-step and double-check each step.", "Please provide a detailed, step-by-step derivation.",
    "Explain your reasoning thoroughly.", "Don't skip any steps.", "Let's go through this one step at a time.",
    "First explain the approach, then work through it in detail.", "Explain it the way a good teacher would, showing each step.",
    "Show the full derivation and state any assumptions you make.", "Give a rigorous step-by-step explanation.",
    "Walk through it as if you were solving it on a whiteboard.", "Spell out each step of the reasoning and verify the final result.",
    "Please reason it through before answering.", "I'd like to see the complete thought process.", "Explain each step and why it follows from the previous one.",
    "Solve it carefully, showing every calculation.", "Take it step by step and explain what you're doing at each point.",
    "Outline your reasoning in numbered steps, then give the final answer.", "Be thorough: show the reasoning behind each step.",
    "Talk me through how you'd approach this, in detail.", "Include your full working.", "Make sure to explain the why, not only the how.",
    "Think step by step.", "Reason about it step by step, then conclude.", "Show your reasoning clearly and check your answer at the end.",
    "Can you break this down for me step by step?", "Explain in detail how to get the answer.", "Please give a careful, well-justified answer.",
    "Analyze each element separately and explain your reasoning.", "Go through the analysis issue by issue and justify your conclusion.",
    "Consider the alternatives and explain why you rule each one out.", "Derive it from first principles, step by step.",
    "I want to understand the reasoning, so please be detailed.", "step by step please", "show all steps pls", "explain each step",
    "Please reason through this carefully, step by step.", "Explain your reasoning in detail before giving the answer.",
]
REASON_PREFIX = ["Step by step: ", "Think this through carefully. ", "Explain your reasoning in detail: ", "Show your work on this one: ",
                 "Walk me through this: ", "Reason carefully: ", "Detailed solution please: ", "Help me understand, step by step: "]
PARAPHRASE_LEAD = ["", "", "", "", "Quick question: ", "I'm studying for an exam and this one stumps me. ", "Here's a problem from my textbook: ",
                   "Can you help with this? ", "Problem: ", "I came across this and I'm not sure how to approach it. ",
                   "My friend and I disagree on this one. ", "Help me with the following. ", "Question: ", "Practice problem: ",
                   "I've been stuck on this for a while. ", "Consider the following. ", "Hi! ", "Hey, ", "Can you solve this? ",
                   "For a class I'm taking: ", "Not homework, just curious: ", "I got a different answer than the book. "]
STUDENT_REASON = ["explain step by step", "can you show the steps", "how do i solve this", "explain like i'm stupid",
                  "Can you walk me through how to get there?",
                  "step by step please", "please explain", "i don't get it, help", "show working", "can you walk me through it",
                  "why is this the answer?", "explain", ""]
EXAM_REASON = ["solve step by step", "explain with full steps", "pls explain each step", "give detailed solution",
               "solve and explain the concept used", "explain the method", "step by step solution with formula",
               "solve this in simple steps", "which option is correct? explain", "explain in easy way"]


def humanize(r, s, p_lower=0.35, p_typo=0.05):
    if r.random() < p_lower:
        s = s[0].lower() + s[1:] if r.random() < 0.5 else s.lower()
    if r.random() < 0.25 and s and s[-1] in ".?":
        s = s[:-1]
    if r.random() < p_typo and len(s) > 12:
        i = r.randint(1, len(s) - 3)
        if s[i].isalpha() and s[i + 1].isalpha():
            s = s[:i] + s[i + 1] + s[i] + s[i + 2:]
    return s


# ----------------------------------------------------------------------------------------------
# consumer chat
# ----------------------------------------------------------------------------------------------

JOBS = ["marketing coordinator", "registered nurse", "software engineer", "barista", "warehouse associate", "data analyst",
        "elementary school teacher", "sales manager", "graphic designer", "administrative assistant", "customer service representative",
        "project manager", "dental hygienist", "electrician apprentice", "accountant", "UX researcher", "line cook",
        "social media manager", "pharmacy technician", "bank teller", "receptionist", "delivery driver", "HR generalist"]
ORG_TYPES = ["a small nonprofit", "a hospital", "a tech startup", "a local bakery", "a logistics company", "a public library",
             "a law firm", "a hotel chain", "an insurance company", "a community college", "a marketing agency", "a grocery chain"]
RELS = ["mom", "dad", "sister", "brother", "best friend", "grandma", "boss", "coworker", "husband", "wife", "girlfriend",
        "boyfriend", "son", "daughter", "neighbor", "teacher", "aunt", "roommate"]
HOBBIES = ["gardening", "fishing", "baking", "hiking", "video games", "knitting", "jazz", "soccer", "photography", "yoga",
           "cooking", "mystery novels", "woodworking", "running", "camping", "chess", "painting", "golf", "cycling", "birdwatching", "anime", "k-pop"]
POEM_TOPICS = ["the ocean", "autumn leaves", "my cat", "first love", "a rainy Monday", "coffee", "growing old", "the moon",
               "friendship", "moving to a new city", "a lighthouse", "the last day of school", "grief", "spring", "my dog",
               "my grandmother's kitchen", "night shifts", "the first snow", "a long road trip", "being a new mom"]
CITIES = ["Lisbon", "Tokyo", "Chicago", "Mexico City", "Rome", "Barcelona", "Bangkok", "New Orleans", "Seoul", "Istanbul",
          "Vancouver", "Prague", "Cape Town", "Kyoto", "Nashville", "Amsterdam", "Bali", "Denver", "Edinburgh", "Buenos Aires",
          "Goa", "Manila", "Dubai", "Paris", "London", "Singapore", "Hanoi", "Marrakech", "Vienna", "Sydney"]
INGR = ["chicken thighs", "rice", "spinach", "canned tomatoes", "eggs", "ground beef", "potatoes", "chickpeas", "tofu", "pasta",
        "broccoli", "salmon", "black beans", "zucchini", "feta", "onions", "bell peppers", "leftover turkey", "lentils",
        "coconut milk", "mushrooms", "cheddar", "sweet potatoes", "shrimp", "paneer", "cabbage"]
LANGS_H = ["Spanish", "French", "German", "Japanese", "Italian", "Portuguese", "Korean", "Hindi", "Arabic", "Tagalog", "Dutch", "Polish", "Turkish", "Vietnamese"]
THINGS_HOW = ["a heat pump", "the stock market", "credit scores", "noise-cancelling headphones", "a 401k", "inflation",
              "GPS", "the electoral college", "sourdough starter", "bitcoin", "solar panels", "an index fund", "Wi-Fi",
              "a mortgage", "the immune system", "hybrid cars", "a VPN", "the dishwasher", "an air fryer", "jet lag"]
DIFFS = [("baking soda", "baking powder"), ("a Roth IRA", "a traditional IRA"), ("affect", "effect"), ("weather", "climate"),
         ("a virus", "bacteria"), ("LED", "OLED TVs"), ("HMO", "PPO insurance"), ("espresso", "drip coffee"), ("4G", "5G"),
         ("a latte", "a cappuccino"), ("an LLC", "a sole proprietorship"), ("psychologist", "psychiatrist"), ("term", "whole life insurance"),
         ("who", "whom"), ("a crocodile", "an alligator"), ("a debit card", "a credit card")]
PESTS = ["fruit flies", "ants", "mold", "mice", "aphids", "a skunk smell", "silverfish", "gnats", "hard water stains", "a musty smell"]
PLACES = ["kitchen", "bathroom", "garden", "car", "basement", "closet", "apartment", "backyard", "garage"]
APPLIANCES = ["fridge", "washing machine", "dryer", "dishwasher", "car", "laptop fan", "furnace", "microwave", "AC unit"]
NOISES = ["clicking", "humming", "grinding", "rattling", "buzzing", "squeaking", "banging"]
GENRES = ["horror", "sci-fi", "romantic comedy", "thriller", "fantasy", "documentary", "animated", "crime", "feel-good"]
MOVIES = ["Inception", "Parasite", "The Notebook", "Interstellar", "Spirited Away", "Knives Out", "Dune", "Get Out",
          "Everything Everywhere All at Once", "The Grand Budapest Hotel", "Mad Max: Fury Road", "Arrival", "Coco"]
SYMPTOMS = ["headaches", "back pain", "trouble sleeping", "heartburn", "dry eyes", "knee pain", "brain fog", "a sore throat",
            "dizziness", "tight shoulders", "leg cramps at night", "itchy skin"]
TECH = ["reset my router", "free up space on my iPhone", "make a pivot table in Excel", "stop Windows from restarting for updates",
        "merge two PDFs", "recover a deleted Google Doc", "connect my printer to Wi-Fi", "use VLOOKUP", "block spam calls",
        "back up WhatsApp chats", "speed up my old laptop", "change the default browser", "set up two-factor authentication",
        "make a chart in Google Sheets", "transfer photos from Android to PC", "fix 'no internet, secured'"]
PARA_BITS = ["I wanted to follow up on our conversation from last week", "unfortunately I won't be able to make it on Friday",
             "the package arrived damaged and the box was wet", "I have been working here for three years",
             "we are excited to announce our new summer hours", "please let me know if you have any questions",
             "the meeting has been moved to Tuesday at 3", "I am really sorry for the late reply",
             "our team exceeded the quarterly target by 12 percent", "the rent will increase starting next month",
             "I think there was a mistake on my last bill", "thank you so much for the lovely gift",
             "my son has been sick so he missed class", "the kitchen sink has been leaking since Monday",
             "I would like to request two days off next week", "we need to reschedule the inspection"]


COMPLAINTS = [("my internet provider", ["constant outages", "being overcharged", "a technician who never showed up"]),
              ("an airline", ["a lost suitcase", "a 9 hour delay", "being bumped from my flight"]),
              ("a hotel", ["a dirty room", "a noisy AC unit", "a surprise resort fee"]),
              ("the city council", ["potholes on my street", "broken streetlights", "overflowing bins"]),
              ("a restaurant", ["a wrong order", "food poisoning", "a rude waiter"]),
              ("my landlord", ["mold in the bathroom", "no hot water for a week", "the broken elevator"])]
PERSONAL = {
    "write": [" for my {rel}", ", nothing too cheesy", " in under {w} words", ", keep it short", " and make it sound natural",
              " for a {occ}", ", they're turning {age}", ", I'm not good with words", ", make it sound like me", " please"],
    "advice": [". I'm on a tight budget", ". I live in {city}", ". I have {n} kids", ". I already tried {tried}", ". I'm a total beginner",
               " (I'm {age})", ", I work nights", ". it's urgent", ", asking for a friend", " please"],
    "know": [" in simple terms", " in a few sentences", ", it's for a school project", ", my {rel} and I were arguing about it", " please",
             " with examples", ", I never understood it"],
    "tech": [". I already tried {tried}", ", it's urgent", " on Windows 11", " on a Mac", " on my iPhone", " on Android",
             ". I'm not very techy", " please"],
    "fun": [" please", ", something new", ", something funny", " lol"],
    "health": [" (I'm {age})", ", I work nights", ". it's been {n} weeks", ", asking for a friend", ". I'm on blood pressure meds",
               ". I'm {age} and pretty active"],
}
TRIED = {"advice": ["vinegar", "the manual", "everything", "asking around", "a few recipes online"],
         "tech": ["restarting it", "asking support", "youtube videos", "everything", "updating drivers"]}
OPENERS = ["hey ", "quick q: ", "ok so ", "hi, ", "help! ", "so ", "question: ", "hello, "]


def personalize(r, s, cat):
    clauses = PERSONAL.get(cat)
    if not clauses:
        return s
    if r.random() < 0.18:
        s = pick(r, OPENERS) + s[0].lower() + s[1:]
    k = 0
    while k < 2 and r.random() < (0.42 if k == 0 else 0.3):
        k += 1
    for c in r.sample(clauses, k):
        s = s.rstrip(".?!") + c.replace("{rel}", pick(r, RELS)).replace("{city}", pick(r, CITIES)).replace(
            "{n}", str(r.randint(2, 6))).replace("{w}", str(pick(r, [50, 100, 150, 200, 300]))).replace("{age}", str(r.randint(16, 78))).replace(
            "{occ}", pick(r, ["birthday", "baby shower", "work party", "retirement party", "first date", "family reunion"])).replace(
            "{tried}", pick(r, TRIED.get(cat, ["everything"])))
    return s


def para(r, n=None):
    n = n or r.randint(2, 4)
    return ". ".join(s[0].upper() + s[1:] for s in r.sample(PARA_BITS, n)) + "."


def c_write(r):
    k = r.randint(0, 13)
    if k == 0:
        return f"write a cover letter for a {pick(r, JOBS)} position at {pick(r, ORG_TYPES)}"
    if k == 1:
        return f"Rewrite this email to sound more professional: {para(r)}"
    if k == 2:
        return f"Write a birthday message for my {pick(r, RELS)} who loves {pick(r, HOBBIES)}"
    if k == 3:
        return f"write a short poem about {pick(r, POEM_TOPICS)}"
    if k == 4:
        return f"Can you write a {pick(r, ['funny', 'heartfelt', 'short', 'two-minute'])} toast for my {pick(r, RELS)}'s {pick(r, ['wedding', 'retirement party', '40th birthday', 'graduation'])}?"
    if k == 5:
        return f"help me write a text to my landlord: {pick(r, PARA_BITS)}"
    if k == 6:
        return f"Write a LinkedIn summary for a {pick(r, JOBS)} with {r.randint(1, 15)} years of experience"
    if k == 7:
        return f"write a bedtime story about a {pick(r, ['dragon', 'little fox', 'robot', 'unicorn', 'brave mouse', 'sleepy bear'])} who {pick(r, ['is afraid of the dark', 'wants to fly', 'loses a tooth', 'makes a new friend', 'goes to the moon'])}"
    if k == 8:
        return f"Proofread this: {para(r)}"
    if k == 9:
        return f"write a resignation letter, I'm leaving my {pick(r, JOBS)} job after {r.randint(2, 9)} years"
    if k == 10:
        return f"Give me 10 Instagram captions for a photo of {pick(r, ['my dog at the beach', 'sunset in ' + pick(r, CITIES), 'my homemade pizza', 'our new house', 'a hike'])}"
    if k == 11:
        who, what = pick(r, COMPLAINTS)
        return f"Write a complaint to {who} about {pick(r, what)}"
    if k == 12:
        return f"summarize this for me: {para(r, 4)}"
    return f"Write an apology message to my {pick(r, RELS)} for {pick(r, ['forgetting their birthday', 'being late again', 'what I said yesterday', 'missing the recital'])}"


def c_advice(r):
    k = r.randint(0, 12)
    if k == 0:
        return f"what can I cook for dinner with {', '.join(r.sample(INGR, r.randint(2, 4)))}"
    if k == 1:
        return f"how do I get rid of {pick(r, PESTS)} in my {pick(r, PLACES)}"
    if k == 2:
        return f"plan a {r.randint(2, 10)} day trip to {pick(r, CITIES)} on a budget"
    if k == 3:
        return f"gift ideas for a {r.randint(5, 80)} year old {pick(r, ['man', 'woman', 'boy', 'girl'])} who likes {pick(r, HOBBIES)}, under ${pick(r, [20, 30, 50, 100])}"
    if k == 4:
        return f"why is my {pick(r, APPLIANCES)} making a {pick(r, NOISES)} noise"
    if k == 5:
        return f"make me a {r.randint(3, 6)} day workout plan for {pick(r, ['losing weight', 'building muscle', 'a beginner', 'bad knees', 'running a 5k'])}"
    if k == 6:
        return f"how do I budget on ${r.randint(18, 90) * 100} a month with rent of ${r.randint(6, 25) * 100}"
    if k == 7:
        return f"my {pick(r, ['dog', 'cat', 'puppy', 'kitten'])} keeps {pick(r, ['chewing shoes', 'scratching the couch', 'barking at night', 'throwing up after eating', 'peeing inside'])}, what should I do"
    if k == 8:
        return f"how should I ask my boss for a raise as a {pick(r, JOBS)}"
    if k == 9:
        return f"what is a good meal prep plan for the week, {pick(r, ['vegetarian', 'high protein', 'cheap', 'for a family of 4', 'low carb'])}"
    if k == 10:
        return f"tips for {pick(r, ['a job interview tomorrow', 'falling asleep faster', 'talking to my teenager', 'first date nerves', 'staying focused while studying', 'moving to ' + pick(r, CITIES)])}"
    if k == 11:
        return f"how long do I boil {pick(r, ['eggs', 'potatoes', 'corn', 'pasta', 'rice'])} for"
    return f"is it ok to {pick(r, ['drink coffee', 'exercise', 'take ibuprofen', 'eat cheese', 'fly'])} {pick(r, ['while pregnant', 'every day', 'on an empty stomach', 'with a cold', 'after surgery'])}"


def c_know(r):
    k = r.randint(0, 6)
    if k == 0:
        a, b = pick(r, DIFFS)
        return f"what's the difference between {a} and {b}"
    if k == 1:
        return f"how does {pick(r, THINGS_HOW)} work"
    if k == 2:
        return f"explain {pick(r, THINGS_HOW)} like I'm 5"
    if k == 3:
        return f"who was {pick(r, ['Cleopatra', 'Nikola Tesla', 'Frida Kahlo', 'Genghis Khan', 'Ada Lovelace', 'Mansa Musa', 'Marie Curie', 'Napoleon', 'Alan Turing', 'Rumi'])}"
    if k == 4:
        return f"why {pick(r, PHENOMENA)}"
    if k == 5:
        return f"what happened in {pick(r, ['the French Revolution', 'the fall of Rome', 'the Cuban missile crisis', 'the 2008 financial crisis', 'the Meiji restoration', 'the partition of India'])}"
    return f"translate '{pick(r, ['where is the train station', 'I am allergic to nuts', 'nice to meet you', 'how much does this cost', 'happy birthday my friend', 'can we get the check'])}' to {pick(r, LANGS_H)}"


def c_tech(r):
    return pick(r, [f"how do I {pick(r, TECH)}", f"how to {pick(r, TECH)}?", f"my laptop {pick(r, ['is really slow', 'won’t turn on', 'keeps freezing', 'fan is loud', 'screen flickers'])}, help",
                    f"excel formula to {pick(r, ['count unique values', 'sum if a column says yes', 'remove duplicates', 'split first and last name', 'find the difference between two dates'])}"])


def c_fun(r):
    return pick(r, [f"recommend some {pick(r, GENRES)} movies like {pick(r, MOVIES)}", f"tell me a joke about {pick(r, HOBBIES + ['cats', 'math', 'programmers', 'Mondays'])}",
                    f"give me a trivia quiz about {pick(r, ['the 90s', 'space', 'world capitals', 'Harry Potter', 'football', 'animals'])}",
                    f"name ideas for my {pick(r, ['new puppy', 'bakery', 'podcast', 'Etsy shop', 'fantasy football team', 'band'])}",
                    f"what should I name my {pick(r, ['cat', 'dog', 'plant', 'car'])}", "give me a random fun fact", "let's play 20 questions",
                    f"write a rap about {pick(r, POEM_TOPICS)}"])


def c_health(r):
    return pick(r, [f"what helps with {pick(r, SYMPTOMS)}", f"is it normal to have {pick(r, SYMPTOMS)} after {pick(r, ['running', 'a flight', 'drinking coffee', 'starting a new medication', 'a long day at the computer'])}",
                    f"natural remedies for {pick(r, SYMPTOMS)}", f"how much {pick(r, ['water', 'protein', 'sleep', 'vitamin D', 'fiber'])} do I need a day"])


def c_short(r):
    return pick(r, ["hi", "hello", "hey", "are you there?", "test", "good morning", "what can you do?", "hello?", "yo", "hi there",
                    "can you help me with something", "who made you", "what's today's date"])


def c_homework(r):
    q, kind, _ = question(r, HOMEWORK_DOMAINS)
    if r.random() < 0.45:
        q = (q + " " + pick(r, STUDENT_REASON)).strip()
    return humanize(r, q, 0.45, 0.06), kind


FOLLOWUPS = ["thanks!", "thank you", "can you make it shorter?", "make it more formal", "make it sound less robotic",
             "can you give me a few more options", "ok now translate it to {lang}", "explain that more simply", "can you put that in a table",
             "perfect", "shorter please", "that's not right, try again", "add a bit more detail", "can you make it funnier", "use bullet points",
             "rewrite it for a 10 year old", "hmm are you sure?", "why?", "give me an example", "ok and what should I do next?",
             "can you do it in under 100 words", "more casual", "what about for {x}?", "thanks, that worked", "no, I meant for {x}",
             "can you explain the second point", "great, now make a shopping list", "can you remove the last paragraph", "ok", "lol thanks",
             "wait what", "and if I don't have {y}?", "go on", "continue", "make it rhyme", "too long", "try again but sound like me",
             "can you check step {k} again?", "why does that step work?", "is there another way to solve it?", "explain it more simply, step by step",
             "how did you get that number?", "can you show the math?"]


FOLLOWUP_PICK = WChoice([(f, 1.0 / (i + 1) ** 0.9) for i, f in enumerate(FOLLOWUPS)])


def followup(r):
    s = FOLLOWUP_PICK(r)
    if "{" in s:
        s = s.replace("{lang}", pick(r, LANGS_H)).replace("{x}", pick(r, RELS + CITIES[:8])).replace("{y}", pick(r, INGR)).replace("{k}", str(r.randint(2, 5)))
    return s


CONSUMER_CATS = [("write", 18, c_write, "write"), ("advice", 18, c_advice, "chat"), ("know", 15, c_know, "chat"),
                 ("tech", 8, c_tech, "chat"), ("fun", 7, c_fun, "chat"), ("health", 5, c_health, "chat"),
                 ("short", 3, c_short, "tiny"), ("homework", 6, None, "reason"), ("code", 3, None, "code")]


class ConsumerTaste:
    """Per-account topic preferences and a few habitual prompts a person repeats."""

    def __init__(self, r, homework_boost=1.0, code_boost=1.0):
        w = []
        for name, base, fn, kind in CONSUMER_CATS:
            m = math.exp(r.gauss(0, 0.9))
            if name == "homework":
                m *= homework_boost
            if name == "code":
                m *= code_boost
            w.append((name, base * m))
        self.pick = WChoice(w)
        self.habits = []
        for _ in range(r.choice([0, 0, 1, 1, 2, 3])):
            p, kind = consumer_new(r, self, no_habit=True)
            self.habits.append((p, kind))
        self.habit_p = r.choice([0.0, 0.03, 0.06, 0.12]) if self.habits else 0.0


CAT_FN = {name: (fn, kind) for name, _, fn, kind in CONSUMER_CATS}


def consumer_new(r, taste, no_habit=False):
    if not no_habit and taste.habits and r.random() < taste.habit_p:
        return pick(r, taste.habits)
    cat = taste.pick(r)
    if cat == "homework":
        return c_homework(r)
    if cat == "code":
        return humanize(r, q_code(r), 0.3, 0.03), "code"
    fn, kind = CAT_FN[cat]
    p = fn(r)
    p = personalize(r, p, cat)
    return humanize(r, p, 0.3, 0.04), kind


def consumer_prompt(r, taste, turn):
    if turn > 0 and r.random() < 0.5:
        return humanize(r, followup(r), 0.4, 0.03), "chat", True
    p, kind = consumer_new(r, taste)
    return p, kind, False


CUSTOM_INSTR = ["Keep answers short and to the point.", "I'm a nurse in Ohio. Use plain language and avoid long lists.",
                "Always answer in a friendly, casual tone. I'm a college student.", "I am a software developer; prefer code examples.",
                "Respond in British English.", "I have ADHD, please use short paragraphs and bullet points.",
                "I'm learning English, please use simple words.", "Be direct. No fluff. No emojis.",
                "I'm a small business owner (bakery). Tailor advice to that.", "Explain things like a patient teacher.",
                "I'm vegetarian and live in Toronto.", "Please always cite sources when you state facts."]



# ----------------------------------------------------------------------------------------------
# developer / enterprise workloads
# ----------------------------------------------------------------------------------------------

CO_A = ["bright", "quill", "north", "blue", "iron", "lumen", "pine", "harbor", "nimbus", "copper", "maple", "vector", "echo",
        "atlas", "cedar", "orbit", "pixel", "river", "summit", "tandem", "velvet", "willow", "zephyr", "kite", "moss", "onyx"]
CO_B = ["loop", "stack", "labs", "works", "base", "forge", "hq", "ly", "ify", "desk", "flow", "path", "grid", "mint", "wave", "hub", "dock"]
TLDS = [".com", ".io", ".ai", ".co", ".dev", ".app", ".tech", ".de", ".co.uk", ".in"]
PRODUCTS = ["wireless earbuds", "standing desk", "espresso machine", "yoga mat", "running shoes", "phone case", "air purifier",
            "backpack", "LED desk lamp", "cast iron skillet", "electric toothbrush", "gaming mouse", "baby monitor", "office chair",
            "water bottle", "robot vacuum", "mechanical keyboard", "winter jacket", "smart thermostat", "blender"]
REVIEW_OPEN = ["Honestly", "Bought this last month and", "Five stars,", "Not impressed.", "Would not recommend.", "Love it!",
               "Meh.", "Second one I've bought,", "Returned it.", "Great value,", "Ugh.", "Works as described,"]
REVIEW_MID = ["the battery barely lasts a day", "it arrived two days early", "customer service never replied", "build quality feels cheap",
              "setup took five minutes", "it stopped working after a week", "my kids use it every day", "the color is different from the photos",
              "it's quieter than my old one", "the app keeps crashing", "fits perfectly", "the instructions were useless",
              "shipping took forever", "it does exactly what I needed", "smells weird out of the box", "price went up right after I bought it"]
TICKET_SUBJ = ["Can't log in", "Charged twice", "Order not received", "Refund request", "App crashes on startup", "Change shipping address",
               "Cancel subscription", "Wrong item delivered", "Password reset email not arriving", "Invoice needed for expense report",
               "Upgrade plan question", "Data export not working"]
DOC_FIELDS = ["invoice_number, date, vendor, total_amount, currency", "name, email, phone, company, job_title",
              "policy_number, insured_name, claim_date, claim_amount", "patient_name, date_of_birth, medications, allergies",
              "order_id, items, quantities, shipping_address", "tenant_name, lease_start, lease_end, monthly_rent"]
LABELSETS = ["positive, negative, neutral", "billing, technical, account, shipping, other", "spam, not_spam",
             "urgent, normal, low", "toxic, safe", "bug, feature_request, question, praise", "complaint, inquiry, compliment"]
RAG_DOMAINS = [("the HR policy handbook", ["How many vacation days do new employees get?", "What is the parental leave policy?",
                                           "Can I carry over unused PTO?", "How do I submit an expense report?", "What's the remote work policy?"]),
               ("the product documentation", ["How do I rotate an API key?", "What are the rate limits on the free plan?",
                                              "Does the webhook retry on failure?", "How do I export data to CSV?", "Which regions are supported?"]),
               ("the insurance policy", ["Is water damage covered?", "What's my deductible for collision?", "Does this cover rental cars?",
                                         "How do I file a claim?", "Am I covered when driving abroad?"]),
               ("the course syllabus", ["When is the midterm?", "What's the late policy?", "How much is the final project worth?",
                                        "Are calculators allowed on exams?", "Where are office hours?"])]
SQL_Q = ["total revenue by month for {y}", "the top {k} customers by lifetime spend", "users who signed up but never ordered",
         "average order value per country", "the churn rate for each cohort", "products that were out of stock more than {k} times",
         "daily active users over the last {k} days", "orders whose shipping took more than {k} days", "the median session length by device"]
AGENT_REQ = ["book a meeting with Sam next Tuesday afternoon", "what's the weather in {c} tomorrow", "find flights to {c} under $600",
             "remind me to call the dentist on Friday", "summarize my unread emails", "add milk and eggs to my shopping list",
             "how long is the drive to {c}", "cancel my 3pm"]
ERRORS = ["TypeError: Cannot read properties of undefined (reading 'map')", "KeyError: 'user_id'", "IndexError: list index out of range",
          "java.lang.NullPointerException at com.app.Service.process(Service.java:{n})", "ModuleNotFoundError: No module named 'pandas'",
          "error[E0502]: cannot borrow `v` as mutable because it is also borrowed as immutable", "panic: runtime error: invalid memory address or nil pointer dereference",
          "ValueError: could not convert string to float: 'N/A'", "CORS policy: No 'Access-Control-Allow-Origin' header is present",
          "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) could not connect to server", "Segmentation fault (core dumped)",
          "RuntimeError: CUDA out of memory. Tried to allocate {n} MiB"]


WORK_BITS = ["Q2 pipeline is down 8% versus plan", "the vendor missed the SLA twice in March", "we agreed to move the launch to June 15",
             "Priya will own the migration runbook", "customer escalations doubled after the pricing change",
             "legal needs to review the DPA before signing", "the hiring freeze applies to backfills too", "headcount for Q3 is flat",
             "the dashboard numbers don't match finance's report", "we need a decision on the data retention policy by Friday",
             "the pilot with two hospitals went well", "support backlog is at 340 tickets", "the SOC 2 audit starts in three weeks",
             "marketing wants the case study approved by legal", "churn in the SMB segment rose to 4.1%", "the API latency regression was traced to a cache bug",
             "we will sunset the legacy billing system in Q4", "Tom raised concerns about the on-call rotation", "the warehouse lease renewal is due in August",
             "procurement flagged three duplicate software licenses", "NPS improved from 31 to 38", "the board meeting moved to the 24th"]
REVIEW_PERF = ["consistently delivers projects on time", "could communicate blockers earlier", "mentored two new hires this quarter",
               "took ownership of the incident review process", "sometimes misses details in documentation", "is well liked by customers",
               "needs to improve estimation accuracy", "led the migration with minimal downtime"]


def work_para(r, n):
    return ". ".join(b[0].upper() + b[1:] for b in r.sample(WORK_BITS, n)) + "."


def company_domain(r):
    return pick(r, CO_A) + pick(r, CO_B) + pick(r, TLDS)


def company_name(dom):
    return dom.split(".")[0].capitalize()


def review(r):
    return f"{pick(r, REVIEW_OPEN)} {pick(r, REVIEW_MID)}. {pick(r, REVIEW_MID).capitalize()}{pick(r, ['.', '!', '...', ''])}"


def ticket(r):
    return (f"Subject: {pick(r, TICKET_SUBJ)}\n\nHi, {pick(r, PARA_BITS)}. My order number is #{r.randint(100000, 999999)}. "
            f"{pick(r, PARA_BITS).capitalize()}.\n\nThanks,\n{pick(r, FIRST)}")


def invoice(r):
    lines = "\n".join(f"{pick(r, PRODUCTS).title()} x{r.randint(1, 12)} @ ${r.randint(5, 400)}.{r.randint(0, 99):02d}" for _ in range(r.randint(1, 5)))
    return (f"INVOICE #{pick(r, ['INV', 'A', 'SO', ''])}{r.randint(1000, 99999)}\nDate: 2026-{r.randint(1, 6):02d}-{r.randint(1, 28):02d}\n"
            f"Bill to: {company_name(company_domain(r))} {pick(r, ['LLC', 'Inc.', 'GmbH', 'Ltd', 'Pvt Ltd'])}\n{lines}\nTotal due: ${r.randint(20, 9000)}.{r.randint(0, 99):02d}")


def code_block(r):
    lang = pick(r, ["python", "javascript", "typescript", "go", "java"])
    return lang, f"```{lang}\n{snippet(r)}\n```"


class DevApp:
    """A developer's product: fixed system prompt and a request generator."""

    KINDS = WChoice([("support", 14), ("extract", 11), ("classify", 12), ("summarize", 10), ("codeassist", 12), ("rag", 10),
                     ("content", 8), ("translate", 5), ("sql", 5), ("agent", 5), ("scripts", 12), ("tutor", 2)])

    def __init__(self, r, company):
        self.kind = DevApp.KINDS(r)
        self.company = company
        k = self.kind
        bot = pick(r, ["Ava", "Max", "Sunny", "Milo", "Nova", "Pip", "Ollie"])
        if k == "support":
            self.system = (f"You are {bot}, the customer support assistant for {company}, {pick(r, ['an online furniture store', 'a meal-kit delivery service', 'a budgeting app', 'a fitness tracker brand', 'a web hosting company', 'a language-learning app'])}. "
                           "Be concise and friendly. If you cannot resolve the issue, offer to connect the customer with a human agent. Never discuss competitors or make up order details.")
        elif k == "extract":
            self.fields = pick(r, DOC_FIELDS)
            self.system = f"Extract the following fields from the document and return valid JSON only, with null for missing fields: {self.fields}."
        elif k == "classify":
            self.labels = pick(r, LABELSETS)
            self.system = f"You are a text classifier. Respond with exactly one label from: {self.labels}. Do not explain."
        elif k == "summarize":
            self.system = f"Summarize the user's text in {r.randint(2, 5)} bullet points for a busy {pick(r, ['executive', 'support lead', 'analyst', 'doctor', 'lawyer'])}."
        elif k == "codeassist":
            self.system = "You are an expert programming assistant embedded in a code editor. Answer with code first, then a brief explanation. Prefer idiomatic, production-quality code."
        elif k == "rag":
            self.rag = pick(r, RAG_DOMAINS)
            self.system = None
        elif k == "content":
            self.system = f"You write SEO-friendly product descriptions for an e-commerce store. Tone: {pick(r, ['playful', 'premium', 'minimal', 'friendly', 'technical'])}. Never invent specifications."
        elif k == "translate":
            self.lang = pick(r, LANGS_H)
            self.system = f"Translate the user's text from English to {self.lang}. Preserve formatting and placeholders like {{name}}."
        elif k == "sql":
            self.system = ("You convert natural language questions into PostgreSQL queries. Schema: users(id, created_at, country, plan), "
                           "orders(id, user_id, created_at, total, status), order_items(order_id, product_id, qty, price), products(id, name, category, stock).")
        elif k == "agent":
            self.system = ("You are an assistant that can call tools. Available tools: search(query), get_weather(city, date), create_event(title, start, end, attendees), "
                           "send_email(to, subject, body). Respond with a single JSON tool call, or with a final answer when done.")
        elif k == "tutor":
            self.system = f"You are a friendly math tutor in the {company} homework app. Explain solutions step by step for high-school students."
        else:
            self.system = None if r.random() < 0.7 else "You are a helpful assistant."
        self.tier = {"classify": "lite", "extract": pick(r, ["lite", "standard"]), "summarize": "standard", "support": pick(r, ["standard", "standard", "pro"]),
                     "codeassist": pick(r, ["pro", "pro", "reason", "standard"]), "rag": "standard", "content": "standard", "translate": "standard",
                     "sql": pick(r, ["pro", "standard"]), "agent": pick(r, ["pro", "standard"]), "scripts": pick(r, ["standard", "pro", "lite", "reason"]),
                     "tutor": "standard"}[k]

    def request(self, r):
        k = self.kind
        if k == "support":
            return pick(r, [f"how do I {pick(r, ['cancel my subscription', 'change my password', 'update my card', 'track my order', 'get an invoice', 'delete my account'])}?",
                            f"my order #{r.randint(100000, 999999)} hasn't arrived yet", f"I was charged twice this month, can you help",
                            f"can I get a refund for the {pick(r, PRODUCTS)}?", humanize(r, pick(r, PARA_BITS), 0.5), "talk to a human",
                            f"does the {pick(r, PRODUCTS)} come in {pick(r, ['black', 'blue', 'a larger size', 'a 2-pack'])}"]), None, "chat"
        if k == "extract":
            return (invoice(r) if "invoice" in self.fields else ticket(r)), None, "extract"
        if k == "classify":
            return (f"Review: {review(r)}" if "positive" in self.labels else f"Text: {ticket(r) if r.random() < 0.6 else review(r)}"), None, "label"
        if k == "summarize":
            return (work_para(r, 5) + "\n\n" + work_para(r, 3)) if r.random() < 0.5 else ticket(r), None, "summary"
        if k == "codeassist":
            lang, cb = code_block(r)
            return pick(r, [f"Refactor this to be more readable:\n{cb}", f"Write unit tests for this:\n{cb}", f"Add type hints and docstrings:\n{cb}",
                            f"Explain this error and how to fix it: {pick(r, ERRORS).replace('{n}', str(r.randint(12, 4000)))}",
                            f"Convert this to {pick(r, LANGS)}:\n{cb}", q_code(r)]), None, "code"
        if k == "rag":
            name, qs = self.rag
            ctx = f"Answer using only the context from {name}. If the answer is not in the context, say you don't know.\n\nContext:\n" + \
                  "\n---\n".join(para(r, 2) for _ in range(r.randint(2, 4)))
            return pick(r, qs), ctx, "chat"
        if k == "content":
            return (f"Product: {pick(r, PRODUCTS)}\nFeatures: {pick(r, REVIEW_MID)}; {pick(r, ['2-year warranty', 'free returns', 'eco-friendly materials', 'USB-C charging', 'dishwasher safe'])}\n"
                    f"Write a {pick(r, [50, 80, 120, 150])}-word description."), None, "write"
        if k == "translate":
            return para(r, r.randint(1, 3)), None, "write"
        if k == "sql":
            q = pick(r, SQL_Q).replace("{y}", str(pick(r, [2024, 2025, 2026]))).replace("{k}", str(r.randint(3, 90)))
            return f"Write a query for {q}.", None, "code"
        if k == "agent":
            q = pick(r, AGENT_REQ).replace("{c}", pick(r, CITIES))
            if r.random() < 0.5:
                q += f'\n\nTool result: {{"status": "ok", "items": {r.randint(0, 12)}, "id": "{r.getrandbits(32):08x}"}}'
            return q, None, "extract"
        if k == "tutor":
            q, kind, _ = question(r, HOMEWORK_DOMAINS)
            return f"Explain step by step: {q}", None, "reason"
        # personal scripts: a mix of ad-hoc experiments
        x = r.random()
        if x < 0.35:
            return q_code(r), None, "code"
        if x < 0.55:
            return f"Summarize:\n\n{work_para(r, 4)}", None, "summary"
        if x < 0.70:
            return f"Classify the sentiment (positive/negative/neutral): {review(r)}", None, "label"
        if x < 0.85:
            q, kind, _ = question(r, GENERAL_DOMAINS)
            return q, None, kind
        return pick(r, ["Say hello in JSON.", "ping", "Reply with the word OK.", "test", "What model are you?",
                        "Write a haiku about Kubernetes.", "Return a JSON list of 5 random fruits."]), None, "tiny"


ENTERPRISE = [
    lambda r: f"Summarize these meeting notes into action items:\n\n{work_para(r, 5)}",
    lambda r: f"Draft an email to the {pick(r, ['finance', 'sales', 'engineering', 'legal', 'ops', 'marketing'])} team about {pick(r, ['the Q2 budget freeze', 'the new travel policy', 'the office move', 'the upcoming audit', 'a delayed launch', 'the holiday schedule'])}",
    lambda r: f"Rewrite this for an executive audience, keep it under 120 words: {work_para(r, 3)}",
    lambda r: f"What are the key risks in this clause? 'The Supplier shall not be liable for any indirect or consequential loss, including loss of profit, except where caused by {pick(r, ['gross negligence', 'wilful misconduct', 'breach of confidentiality'])}.'",
    lambda r: f"Explain this error: {pick(r, ERRORS).replace('{n}', str(r.randint(10, 900)))}",
    lambda r: f"Write a SQL query for {pick(r, SQL_Q).replace('{y}', '2025').replace('{k}', str(r.randint(3, 30)))}",
    lambda r: f"Create an agenda for a {r.randint(30, 90)} minute {pick(r, ['kickoff', 'retro', 'quarterly planning', 'vendor review', 'all-hands'])} meeting",
    lambda r: f"Make a slide outline on {pick(r, ['our AI strategy', 'customer churn drivers', 'the 2026 hiring plan', 'supply chain risks', 'cloud cost savings'])}",
    lambda r: f"Excel: {pick(r, ['XLOOKUP across two sheets', 'a formula for working days between two dates', 'conditional formatting for overdue dates', 'a pivot of revenue by region and quarter'])}",
    lambda r: f"Write a job description for a {pick(r, JOBS)}",
    lambda r: f"Our revenue was ${r.randint(2, 90)}M last year and grew {r.randint(3, 40)}%. If costs are {r.randint(40, 90)}% of revenue, what's the operating margin and how does it change if costs grow {r.randint(2, 20)}%? Show the calculation step by step.",
    lambda r: f"Translate to {pick(r, ['German', 'French', 'Spanish', 'Japanese'])}: {pick(r, PARA_BITS)}",
    lambda r: q_code(r),
    lambda r: f"Give me feedback on this performance review: {pick(r, FIRST)} {pick(r, REVIEW_PERF)}. {pick(r, REVIEW_PERF).capitalize()}. Overall rating: {pick(r, ['meets expectations', 'exceeds expectations', 'needs improvement'])}.",
]


# ----------------------------------------------------------------------------------------------
# time: sessions with diurnal and weekly rhythms
# ----------------------------------------------------------------------------------------------

def _norm(v):
    v = np.asarray(v, dtype=float)
    return v / v.sum()


DIURNAL = {
    "consumer": _norm([1.0, .6, .35, .25, .2, .25, .5, 1.0, 1.6, 2.0, 2.3, 2.5, 2.6, 2.5, 2.4, 2.4, 2.5, 2.7, 2.9, 3.2, 3.4, 3.3, 2.7, 1.8]),
    "mobile": _norm([1.2, .7, .4, .3, .3, .4, .8, 1.5, 1.9, 1.9, 2.0, 2.2, 2.5, 2.3, 2.1, 2.2, 2.5, 2.8, 3.0, 3.3, 3.6, 3.6, 3.0, 2.0]),
    "work": _norm([.1, .05, .05, .05, .05, .1, .3, .9, 2.2, 3.2, 3.4, 3.2, 2.4, 3.0, 3.3, 3.2, 2.8, 2.0, 1.0, .6, .5, .4, .3, .2]),
    "student": _norm([2.0, 1.3, .7, .3, .15, .1, .2, .5, 1.0, 1.6, 2.0, 2.2, 2.0, 2.2, 2.4, 2.5, 2.4, 2.2, 2.3, 2.7, 3.1, 3.3, 3.0, 2.6]),
    "school": _norm([.1, .05, .03, .03, .03, .1, .4, 1.5, 3.0, 3.4, 3.4, 3.2, 2.8, 3.1, 3.0, 2.6, 2.2, 2.0, 2.2, 2.4, 2.2, 1.4, .6, .25]),
    "exam": _norm([1.5, .8, .3, .2, .3, 1.0, 1.8, 1.6, 1.2, 1.0, 1.1, 1.3, 1.3, 1.2, 1.3, 1.6, 2.0, 2.4, 2.6, 2.8, 3.0, 3.0, 2.8, 2.2]),
    "daytime": _norm([.3, .15, .08, .05, .05, .1, .3, .9, 1.8, 2.5, 2.8, 2.8, 2.6, 2.7, 2.8, 2.7, 2.6, 2.4, 2.2, 2.2, 2.1, 1.8, 1.2, .6]),
    "flat": _norm([1.0] * 24),
}
WEEKLY = {  # Mon..Sun
    "consumer": [1.0, 1.0, 1.0, 1.0, .95, 1.05, 1.1], "work": [1.0, 1.05, 1.05, 1.0, .9, .22, .18],
    "student": [1.0, 1.05, 1.05, 1.0, .8, .7, 1.15], "school": [1.0, 1.0, 1.0, 1.0, .85, .15, .3],
    "flat": [1] * 7, "exam": [1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.2],
}
US_HOLIDAY_DAY = 33  # 2026-05-25 Memorial Day


def day_weights(days, weekly, tz=0.0, extra=None):
    """Weights over candidate window-day indices using the local weekday."""
    w = np.array([weekly[(WEEKDAY0 + d + (1 if tz >= 12 else 0)) % 7] for d in days], dtype=float)
    if extra is not None:
        w = w * extra
    s = w.sum()
    return w / s if s > 0 else np.full(len(days), 1.0 / len(days))


def sessions(g, n, days, dw, tz, diurnal, sess_mean, gap_med, gap_sig, t_min=None, t_max=T_END - 1):
    """n requests grouped in human sessions. Returns (ts float array sorted, session index, turn index)."""
    sizes = []
    left = n
    while left > 0:
        s = min(left, int(g.geometric(1.0 / sess_mean)))
        sizes.append(s)
        left -= s
    ns = len(sizes)
    d = g.choice(days, size=ns, p=dw)
    h = g.choice(24, size=ns, p=diurnal)
    start = T0 + d * DAY + (h - tz) * 3600.0 + g.random(ns) * 3600.0
    ts_all, sid, turn = [], [], []
    order = np.argsort(start, kind="stable")
    lo = T0 if t_min is None else max(T0, t_min)
    for si, j in enumerate(order):
        s = sizes[j]
        offs = np.concatenate([[0.0], np.cumsum(g.lognormal(math.log(gap_med), gap_sig, size=s - 1))]) if s > 1 else np.zeros(1)
        st = float(start[j])
        span = float(offs[-1])
        # keep the local hour: move a session that falls off either edge of the window by whole days
        while st < lo and st + DAY + span <= t_max:
            st += DAY
        while st + span > t_max and st - DAY >= lo:
            st -= DAY
        if st < lo:
            st = lo + g.random() * 900.0 + 30.0
        if st + span > t_max:
            st = max(lo + 1.0, t_max - span - g.random() * 600.0)
        t = st + offs
        ts_all.append(t)
        sid.append(np.full(s, si))
        turn.append(np.arange(s))
    ts = np.concatenate(ts_all)
    sid = np.concatenate(sid)
    turn = np.concatenate(turn)
    o = np.argsort(ts, kind="stable")
    return np.minimum(ts[o], t_max), sid[o], turn[o]


# ----------------------------------------------------------------------------------------------
# the incident
# ----------------------------------------------------------------------------------------------

POPULATIONS = [
    # group, label, base accounts, base rows
    ("consumer", "benign", 11500, 430000),
    ("mobile-cgnat", "benign", 2600, 91000),
    ("developer", "benign", 1400, 112000),
    ("enterprise-proxy", "benign", 700, 42000),
    ("trial-churn", "hard_negative", 1800, 27000),
    ("university-course", "hard_negative", 330, 15000),
    ("edtech-tutoring", "hard_negative", 420, 60000),
    ("eval-lab", "hard_negative", 8, 30000),
    ("vpn-users", "hard_negative", 900, 36000),
    ("exam-prep", "hard_negative", 450, 25000),
    ("rotating-farm", "attack", 1100, 60000),
    ("slow-embedded", "attack", 130, 68000),
]


class Incident:
    def __init__(self, seed: int, rows: int):
        self.seed = seed
        self.f = rows / 1_000_000
        self.r = random.Random(seed * 1000 + 1)
        self.geo = Geo(random.Random(seed * 1000 + 2), self.f)
        self.acct_ids = IdGen(seed, 1, "acct_")
        self.pay_ids = IdGen(seed, 2, "pm_", 16)
        self.org_ids = IdGen(seed, 3, "org_", 12)
        self.accounts = []   # (account_id, created_at float, email_domain, payment, billing_country, org_id)
        self.labels = []     # (account_id, label, group)
        self.cols = {k: [] for k in ("ts", "account_id", "ip", "asn", "country", "user_agent", "model", "prompt",
                                     "system_prompt", "input_tokens", "output_tokens")}
        self.group_rows = {}
        self.used_questions = set()

    # -- sizing
    def size(self, group):
        for g, lab, acc, rows in POPULATIONS:
            if g == group:
                mins = {"eval-lab": 2, "slow-embedded": 6, "university-course": 24, "edtech-tutoring": 12}.get(group, 5)
                return max(mins, int(round(acc * self.f))), rows * self.f, lab
        raise KeyError(group)

    def rngs(self, group):
        salt = sum((i + 1) * ord(c) for i, c in enumerate(group))
        return random.Random(self.seed * 7_000_003 + salt), np.random.default_rng([self.seed, salt])

    # -- accounts
    def account(self, group, label, created, email, payment, billing, org):
        aid = self.acct_ids.next()
        self.accounts.append([aid, float(created), email, payment, billing, org])
        self.labels.append((aid, label, group))
        return aid

    def new_payment(self):
        return self.pay_ids.next()

    # -- rows
    def emit(self, aid, t, ip, asn, cc, ua, model, prompt, system, context, kind, r):
        c = self.cols
        c["ts"].append(t)
        c["account_id"].append(aid)
        c["ip"].append(ip)
        c["asn"].append(asn)
        c["country"].append(cc)
        c["user_agent"].append(ua)
        c["model"].append(model)
        c["prompt"].append(prompt)
        c["system_prompt"].append(system)
        c["input_tokens"].append(in_tokens(r, prompt, system, context))
        c["output_tokens"].append(out_tokens(r, kind, model))

    def unique_q(self, r, gen, tries=30):
        for _ in range(tries):
            q = gen(r)
            key = q[0] if isinstance(q, tuple) else q
            if key not in self.used_questions:
                self.used_questions.add(key)
                return q
        return q

    # -- shared helpers for person-like accounts
    def tz(self, r, cc):
        return TZ_PICK[cc](r) if cc in TZ_PICK else 0.0

    def signup_day_weights(self):
        w = np.ones(N_DAYS)
        for d in range(N_DAYS):
            w[d] *= [1.12, 1.08, 1.02, 1.0, .92, .85, .95][(WEEKDAY0 + d) % 7]
            if d >= LAUNCH_DAY:
                x = d - LAUNCH_DAY
                w[d] *= 1.0 + 2.6 * math.exp(-x / 1.6) + 0.25
        return w / w.sum()

    def old_created(self, r, start=ts_of(2023, 3, 1), end=T0 - 60 * DAY):
        # the last two months before the window continue the in-window signup rate; earlier, density grows over time
        if r.random() < 0.28:
            return T0 - r.random() * 60 * DAY
        u = r.random() ** 0.55
        return start + u * (end - start) + r.random() * 3600


def person_ip_plan(inc, r, cc, mobile_share=0.3, ipv6_ok=True):
    """A household IP (v4 that may be re-assigned once, or a v6 /64 with rotating privacy addresses)
    plus optional use of the national mobile carrier (CGNAT pool)."""
    asn, net, p6 = inc.geo.home_isp(r, cc)
    plan = {"cc": cc, "asn": asn}
    if p6 and ipv6_ok and r.random() < 0.4:
        plan["v6"] = v6_prefix64(r, p6)
    else:
        a = v4(net.addr(r))
        b = v4(net.addr(r)) if r.random() < 0.22 else a
        plan["v4"] = (a, b, r.randint(0, N_DAYS))
        inc.geo.household_ips.setdefault(cc, []).append((a, asn))
    plan["mobile"] = inc.geo.mobile_carrier(r, cc) if r.random() < mobile_share else None
    plan["mobile_p"] = r.uniform(0.15, 0.6) if plan["mobile"] else 0.0
    plan["dev6"] = v6_prefix64(r, plan["mobile"][2]) if plan["mobile"] and plan["mobile"][2] else None
    return plan


def plan_ip(r, plan, t, mobile_forced=False):
    if plan["mobile"] and (mobile_forced or r.random() < plan["mobile_p"]):
        asn, pool, p6 = plan["mobile"]
        if plan["dev6"] is not None and r.random() < 0.55:
            return v6_iid(r, plan["dev6"]), asn, plan["cc"], True
        return pick(r, pool), asn, plan["cc"], True
    if "v6" in plan:
        return v6_iid(r, plan["v6"]), plan["asn"], plan["cc"], False
    a, b, sw = plan["v4"]
    return (a if (t - T0) / DAY < sw else b), plan["asn"], plan["cc"], False


def person_devices(r, phone_only=False, desk_w=0.55):
    if phone_only:
        return None, UA(PHONE_UA(r), r)
    if r.random() < desk_w:
        return UA(DESKTOP_UA(r), r), (UA(PHONE_UA(r), r) if r.random() < 0.45 else None)
    return None, UA(PHONE_UA(r), r)


def pick_device(r, desk, phone, on_mobile):
    if on_mobile and phone is not None:
        return phone
    if desk is None:
        return phone
    if phone is None:
        return desk
    return phone if r.random() < 0.3 else desk


def allocate(g, n_acc, target, median, sigma, lo, hi, mult=None):
    x = np.exp(g.normal(math.log(median), sigma, n_acc))
    if mult is not None:
        x = x * mult   # accounts that exist for part of the window make proportionally fewer requests
    x = x * (target / max(x.sum(), 1e-9))
    x = np.clip(np.round(x), lo, hi).astype(int)
    return x



def emit_sessions(inc, r, aid, ts, sid, turn, sess_fn, row_fn):
    """Run one account's requests: sess_fn(t) -> (ip, asn, cc, ua, extra) once per session,
    row_fn(t, turn, sctx) -> (model, prompt, system, context_tokens, kind) per request."""
    cache = {}
    for t, s, k in zip(ts.tolist(), sid.tolist(), turn.tolist()):
        sc = cache.get(s)
        if sc is None:
            sc = sess_fn(t)
            cache[s] = sc
        model, prompt, system, ctx, kind = row_fn(t, k, sc)
        inc.emit(aid, t, sc[0], sc[1], sc[2], sc[3], model, prompt, system, ctx, kind, r)
    return float(ts[0])


def active_days(r, g, lo, hi, nreq, per_day_med=6.0, extra=None, weekly="consumer", tz=0.0):
    span = np.arange(lo, hi + 1)
    k = int(np.clip(round(nreq / max(1.0, per_day_med * math.exp(r.gauss(0, 0.5)))), 1, len(span)))
    w = day_weights(span, WEEKLY[weekly], tz, extra=None if extra is None else extra[lo:hi + 1])
    days = np.sort(g.choice(span, size=k, replace=False, p=w))
    return days, day_weights(days, WEEKLY[weekly], tz)


TIER_PAID = WChoice([("pro", 45), ("reason", 15), ("standard", 35), ("lite", 5)])
TIER_FREE = WChoice([("standard", 80), ("lite", 10), ("reason", 10)])


def person_tier(r, paid):
    main = (TIER_PAID if paid else TIER_FREE)(r)
    alt = TIER_PAID if paid else TIER_FREE
    return lambda rr, kind: (main if rr.random() < 0.8 else alt(rr)) if kind != "reason" or rr.random() < 0.7 else ("reason" if paid or rr.random() < 0.4 else main)


# ---------------------------------------------------------------------------------------------- benign: consumers
def gen_person_population(inc, group, cc_pick, *, phone_only_p=0.0, mobile_share=0.35, mobile_p_range=None, diurnal="consumer",
                          new_p=0.17, churn_p=0.2, paid_p=0.28, median=15, sigma=1.25, hi=2500, vpn=False,
                          homework_boost=1.0, code_boost=1.0, per_day=6.0):
    r, g = inc.rngs(group)
    n, target, label = inc.size(group)
    sw = inc.signup_day_weights()
    geo = inc.geo
    specs = []
    for i in range(n):
        cc = cc_pick(r)
        tz = inc.tz(r, cc)
        if r.random() < new_p:
            cday = int(g.choice(N_DAYS, p=sw))
            created = T0 + cday * DAY + (int(g.choice(24, p=DIURNAL["consumer"])) - tz) * 3600 + r.random() * 3600
            created = soft_clamp(r, created, T0 + 60, T_END - 7200)
            lo = int((created - T0) // DAY)
            is_new = True
        else:
            created = inc.old_created(r)
            lo, is_new = 0, False
        hi_d = N_DAYS - 1 if r.random() > churn_p else r.randint(lo, N_DAYS - 1)
        specs.append((cc, tz, created, lo, is_new, hi_d))
    frac = np.array([(sp[5] - sp[3] + 1) / N_DAYS for sp in specs]) ** 0.85
    counts = allocate(g, n, target, median, sigma, 1, hi, mult=frac)
    for i, (cc, tz, created, lo, is_new, hi_d) in enumerate(specs):
        nreq = int(counts[i])
        days, dw = active_days(r, g, lo, hi_d, nreq, per_day, tz=tz)
        if is_new:
            days = np.unique(np.concatenate([[lo], days]))
            dw = day_weights(days, WEEKLY["consumer"], tz, extra=np.where(days == lo, 3.0, 1.0))
        ts, sid, turn = sessions(g, nreq, days, dw, tz, DIURNAL[diurnal], 3.2, 70.0, 0.95,
                                 t_min=created + 60 if is_new else None)
        if is_new and r.random() < 0.7:
            created = float(ts[0]) - r.uniform(30.0, 1200.0)
        plan = person_ip_plan(inc, r, cc, mobile_share=mobile_share)
        if mobile_p_range and plan["mobile"] is None:
            plan["mobile"] = geo.mobile_carrier(r, cc)
            plan["dev6"] = v6_prefix64(r, plan["mobile"][2]) if plan["mobile"] and plan["mobile"][2] else None
        if mobile_p_range and plan["mobile"]:
            plan["mobile_p"] = r.uniform(*mobile_p_range)
        desk, phone = person_devices(r, phone_only=r.random() < phone_only_p)
        paid = r.random() < paid_p
        tier = person_tier(r, paid)
        taste = ConsumerTaste(r, homework_boost, code_boost)
        system = pick(r, CUSTOM_INSTR) if r.random() < 0.1 else None
        travel = (pick(r, [c for c in COUNTRY if c != cc]), r.randint(0, N_DAYS - 5)) if r.random() < 0.03 else None
        if vpn:
            home_server = [j for j in geo.vpn_by_cc.get(cc, [])] or geo.vpn_by_cc.get("US", [0])
            favs = [pick(r, home_server) for _ in range(r.randint(1, 2))] + [r.randrange(len(geo.vpn)) for _ in range(r.randint(0, 3))]
            vpn_p = r.uniform(0.55, 1.0)
        else:
            favs, vpn_p = None, 0.0

        def sess_fn(t, plan=plan, desk=desk, phone=phone, favs=favs, vpn_p=vpn_p, travel=travel):
            if favs and r.random() < vpn_p:
                ip, asn, vcc = geo.vpn[pick(r, favs) if r.random() < 0.85 else r.randrange(len(geo.vpn))]
                dev = pick_device(r, desk, phone, False)
                return ip, asn, vcc, dev.ua(t)
            if travel and travel[1] <= (t - T0) / DAY < travel[1] + 5:
                asn, net, _ = geo.home_isp(r, travel[0])
                dev = phone or desk
                return v4(net.addr(r)), asn, travel[0], dev.ua(t)
            ip, asn, icc, mob = plan_ip(r, plan, t)
            dev = pick_device(r, desk, phone, mob)
            return ip, asn, icc, dev.ua(t)

        def row_fn(t, k, sc, taste=taste, tier=tier, system=system):
            p, kind, fu = consumer_prompt(r, taste, k)
            ctx = int(k * 320 * math.exp(r.gauss(0, 0.6))) if k > 0 else 0
            return model_name(tier(r, kind), t), p, system, ctx, kind

        aid = inc.account(group, label, created, EMAIL_PICK[cc](r), inc.new_payment() if paid else None,
                          cc if r.random() > 0.02 else pick(r, list(COUNTRY)), None)
        emit_sessions(inc, r, aid, ts, sid, turn, sess_fn, row_fn)


VPN_HOME_CC = WChoice([("US", 30), ("GB", 8), ("DE", 8), ("TR", 6), ("IN", 6), ("CA", 5), ("AU", 4), ("FR", 4), ("NL", 3),
                       ("ES", 3), ("IT", 3), ("BR", 3), ("PL", 2), ("KR", 2), ("JP", 2), ("ID", 3), ("PH", 2), ("EG", 2), ("PK", 2)])
CGNAT_CC = WChoice([("US", 35), ("IN", 30), ("ID", 10), ("PH", 10), ("NG", 8), ("BR", 7)])


# ---------------------------------------------------------------------------------------------- trial users (hard negative)
PROBES = ["what model are you?", "what can you do?", "hi", "test", "are you better than the other chatbots?", "who made you",
          "write a poem about the ocean", "what's 17 times 23", "tell me a joke", "can you browse the internet?", "how smart are you",
          "solve 2x+3=11", "what day is it", "can you write code?", "hello, can you speak spanish?"]


def gen_trial(inc):
    group = "trial-churn"
    r, g = inc.rngs(group)
    n, target, label = inc.size(group)
    counts = allocate(g, n, target, 10, 0.85, 2, 70)
    sw = inc.signup_day_weights()
    for i in range(n):
        cc = CONSUMER_CC(r)
        tz = inc.tz(r, cc)
        cday = int(g.choice(N_DAYS, p=sw))
        created = T0 + cday * DAY + (int(g.choice(24, p=DIURNAL["consumer"])) - tz) * 3600 + r.random() * 3600
        created = soft_clamp(r, created, T0 + 60, T_END - 3 * 3600)
        lo = int((created - T0) // DAY)
        nd = int(g.choice([1, 2, 3], p=[0.6, 0.25, 0.15]))
        days = sorted({lo} | {min(N_DAYS - 1, lo + r.randint(1, 6)) for _ in range(nd - 1)})
        days = np.array(days)
        dw = day_weights(days, WEEKLY["consumer"], tz, extra=np.where(days == lo, 2.5, 1.0))
        ts, sid, turn = sessions(g, int(counts[i]), days, dw, tz, DIURNAL["consumer"], 4.0, 60.0, 0.9, t_min=created + 30)
        created = float(ts[0]) - r.uniform(30.0, 1200.0)   # signed up, then tried it right away
        plan = person_ip_plan(inc, r, cc, mobile_share=0.35)
        desk, phone = person_devices(r)
        paid = r.random() < 0.12
        kind_of_user = WChoice([("student", 35), ("coder", 20), ("general", 45)])(r)
        taste = ConsumerTaste(r, homework_boost=8.0 if kind_of_user == "student" else 1.0, code_boost=6.0 if kind_of_user == "coder" else 1.0)
        tiers = WChoice([("standard", 55), ("reason", 28), ("lite", 7), ("pro", 10 if not paid else 40)])

        def sess_fn(t, plan=plan, desk=desk, phone=phone):
            ip, asn, icc, mob = plan_ip(r, plan, t)
            return ip, asn, icc, pick_device(r, desk, phone, mob).ua(t)

        state = {"first": True}

        def row_fn(t, k, sc, taste=taste, tiers=tiers, state=state):
            if state["first"] or (k == 0 and r.random() < 0.15):
                state["first"] = False
                p, kind = humanize(r, pick(r, PROBES), 0.4), "tiny"
            else:
                p, kind, _ = consumer_prompt(r, taste, k)
            return model_name(tiers(r), t), p, None, (k * 250 if k else 0), kind

        aid = inc.account(group, label, created, EMAIL_PICK[cc](r) if r.random() > 0.04 else pick(r, ["tutanota.com", "proton.me", "mail.com"]),
                          inc.new_payment() if paid else None, cc, None)
        emit_sessions(inc, r, aid, ts, sid, turn, sess_fn, row_fn)


# ---------------------------------------------------------------------------------------------- exam prep (hard negative)
EXAM_CC = WChoice([("IN", 75), ("NG", 10), ("PH", 8), ("PK", 7)])
STUDY_CHAT = ["make a study timetable for {exam} in {n} days", "how to remember the periodic table quickly", "motivate me, I feel like giving up",
              "best books for {subj} for {exam}", "how many hours should I study for {exam}", "tips to avoid silly mistakes in {subj}",
              "explain {topic} in simple words", "short notes on {topic}", "important formulas of {topic}", "how to manage time in the {exam} exam",
              "I scored {n} in the mock test, how can I improve", "give me 10 MCQs on {topic} with answers"]
EXAM_TOPICS = ["rotational motion", "electrostatics", "thermodynamics", "organic reaction mechanisms", "chemical equilibrium",
               "coordination compounds", "integration", "probability", "matrices", "modern physics", "genetics", "human physiology",
               "ray optics", "p-block elements", "limits and continuity", "electrochemistry", "cell biology", "kinematics"]


def mcq_wrap(r, q):
    vals = [round(r.uniform(0.5, 120), pick(r, [0, 1, 2])) for _ in range(4)]
    return q + "\n" + " ".join(f"({l}) {v:g}" for l, v in zip("abcd", vals))


def gen_exam(inc):
    group = "exam-prep"
    r, g = inc.rngs(group)
    n, target, label = inc.size(group)
    counts = allocate(g, n, target, 45, 0.8, 3, 600)
    shared = [question(r, STEM_DOMAINS)[0] for _ in range(max(40, int(500 * inc.f ** 0.5)))]
    for i in range(n):
        cc = EXAM_CC(r)
        tz = inc.tz(r, cc)
        exam = {"IN": pick(r, ["JEE Mains", "JEE Advanced", "NEET"]), "NG": "JAMB", "PH": "UPCAT", "PK": "MDCAT"}[cc]
        created = r.uniform(ts_of(2025, 3, 1), ts_of(2026, 3, 31))
        nreq = int(counts[i])
        days, dw = active_days(r, g, 0, N_DAYS - 1, nreq, 4.0, weekly="exam", tz=tz)
        ts, sid, turn = sessions(g, nreq, days, dw, tz, DIURNAL["exam"], 3.0, 110.0, 0.8)
        plan = person_ip_plan(inc, r, cc, mobile_share=0.85)
        if plan["mobile"]:
            plan["mobile_p"] = r.uniform(0.5, 0.95)
        desk, phone = person_devices(r, phone_only=r.random() < 0.8)
        paid = r.random() < 0.2
        tiers = WChoice([("reason", 50), ("pro", 30), ("standard", 20)]) if paid else WChoice([("standard", 82), ("reason", 12), ("lite", 6)])
        taste = ConsumerTaste(r)
        sfx = r.sample(EXAM_REASON, 3)

        def sess_fn(t, plan=plan, desk=desk, phone=phone):
            ip, asn, icc, mob = plan_ip(r, plan, t)
            return ip, asn, icc, pick_device(r, desk, phone, mob).ua(t)

        def row_fn(t, k, sc, tiers=tiers, sfx=sfx, exam=exam, taste=taste):
            x = r.random()
            if x < 0.62:
                q, _, dom = question(r, STEM_DOMAINS)
                if dom in ("word", "prob", "science") and q.rstrip().endswith("?") and r.random() < 0.45:
                    q = mcq_wrap(r, q)
                if r.random() < 0.85:
                    q = q + " " + (pick(r, sfx) if r.random() < 0.8 else pick(r, EXAM_REASON))
                return model_name(tiers(r), t), humanize(r, q, 0.4, 0.06), None, 0, "reason"
            if x < 0.72:
                q = pick(r, shared) + " " + pick(r, sfx)
                return model_name(tiers(r), t), humanize(r, q, 0.3, 0.03), None, 0, "reason"
            if x < 0.88:
                s = pick(r, STUDY_CHAT).replace("{exam}", exam).replace("{n}", str(r.randint(20, 180))).replace(
                    "{subj}", pick(r, ["physics", "chemistry", "maths", "biology"])).replace("{topic}", pick(r, EXAM_TOPICS))
                return model_name(tiers(r), t), humanize(r, s, 0.5, 0.06), None, k * 200, "chat"
            p, kind, _ = consumer_prompt(r, taste, k)
            return model_name(tiers(r), t), p, None, k * 200, kind

        aid = inc.account(group, label, created, EMAIL_PICK[cc](r), inc.new_payment() if paid else None, cc, None)
        emit_sessions(inc, r, aid, ts, sid, turn, sess_fn, row_fn)


# ---------------------------------------------------------------------------------------------- developers
DEV_CC = WChoice([("US", 45), ("IN", 10), ("DE", 7), ("GB", 7), ("CA", 5), ("FR", 4), ("NL", 3), ("BR", 3), ("SG", 3),
                  ("JP", 3), ("AU", 3), ("PL", 3), ("ES", 2), ("KR", 2)])


def gen_developer(inc):
    group = "developer"
    r, g = inc.rngs(group)
    n, target, label = inc.size(group)
    counts = allocate(g, n, target, 22, 1.55, 1, 12000)
    geo = inc.geo
    i = 0
    while i < n:
        size = 1 if r.random() < 0.62 else min(n - i, r.randint(2, 5))
        cc = DEV_CC(r)
        dom = company_domain(r) if (size > 1 or r.random() < 0.35) else None
        org = inc.org_ids.next() if size > 1 else None
        pay = inc.new_payment() if size > 1 else None
        comp = company_name(dom) if dom else pick(r, CO_A).capitalize() + pick(r, CO_B)
        lang = WChoice([("py", 58), ("node", 25), ("go", 5), ("java", 3), ("curl", 3), ("httpx", 3), ("lc", 3)])(r)
        cloud = DEV_CLOUD_PICK(r)
        org_created = r.uniform(ts_of(2024, 1, 1), T0 - 10 * DAY)
        for j in range(size):
            nreq = int(counts[i])
            i += 1
            tz = inc.tz(r, cc)
            app = DevApp(r, comp)
            in_window = r.random() < 0.12
            created = r.uniform(T0 + DAY, T0 + 42 * DAY) if in_window else (org_created + r.uniform(0, 60) * DAY if org else r.uniform(ts_of(2023, 6, 1), T0 - 2 * DAY))
            if not in_window and created > T0 - DAY:
                created = T0 - DAY - r.random() * 30 * DAY
            lo = int((created - T0) // DAY) if in_window else 0
            hi_d = N_DAYS - 1 if r.random() > 0.15 else r.randint(lo, N_DAYS - 1)
            nreq = max(1, int(round(nreq * ((hi_d - lo + 1) / N_DAYS) ** 0.85 / 0.86)))
            batch = nreq > 300 and r.random() < 0.35
            if batch:
                days = np.arange(lo, hi_d + 1)
                dw = day_weights(days, WEEKLY["flat"])
                hr = r.randint(0, 23)
                di = np.full(24, 0.002)
                di[hr] = 1.0
                ts, sid, turn = sessions(g, nreq, days, dw, 0.0, _norm(di), r.randint(40, 400), 1.2, 0.7, t_min=created + 600)
            else:
                days, dw = active_days(r, g, lo, hi_d, nreq, 12.0, weekly=pick(r, ["work", "consumer"]), tz=tz)
                ts, sid, turn = sessions(g, nreq, days, dw, tz, DIURNAL[pick(r, ["work", "consumer", "daytime"])], 6.0, 25.0, 1.3,
                                         t_min=created + 600)
            deploy = [geo.cloud_ip(r, cloud, cc if r.random() < 0.7 else None) for _ in range(r.randint(1, 3))]
            serverless = r.random() < 0.2
            laptop = person_ip_plan(inc, r, cc, mobile_share=0.1)
            laptop_p = r.uniform(0.0, 0.35)
            ua = sdk_ua(r, lang if r.random() < 0.8 else None)
            ua2 = ua
            if r.random() < 0.3 and ua.startswith("helix-python/1."):
                parts = ua.split("/")[1].split(".")
                ua2 = f"helix-python/1.{int(parts[1]) + 1}.0"
            upg = r.randint(0, N_DAYS)
            pinned = r.random() < 0.35
            email = dom if dom else WChoice([("gmail.com", 70), ("outlook.com", 8), ("proton.me", 6), ("icloud.com", 5), ("yahoo.com", 3), (company_domain(r), 8)])(r)

            def sess_fn(t, deploy=deploy, serverless=serverless, laptop=laptop, laptop_p=laptop_p, ua=ua, ua2=ua2, upg=upg, cloud=cloud, cc=cc):
                u = ua if (t - T0) / DAY < upg else ua2
                if r.random() < laptop_p:
                    ip, asn, icc, _ = plan_ip(r, laptop, t)
                    return ip, asn, icc, (u if r.random() < 0.8 else f"curl/8.{r.randint(5, 14)}.0"), False
                if serverless:
                    return None, None, None, u, True
                ip, asn, icc = pick(r, deploy)
                return ip, asn, icc, u, False

            def row_fn(t, k, sc, app=app, pinned=pinned):
                p, sysp, kind = app.request(r)
                sysp = sysp if sysp is not None else app.system
                ctx = 0
                if app.kind in ("codeassist", "agent", "scripts") and k > 0 and r.random() < 0.4:
                    ctx = int(k * 400 * math.exp(r.gauss(0, 0.8)))
                return model_name(app.tier, t, pinned), p, sysp, ctx, kind

            aid = inc.account(group, label, created, email, pay if pay else (inc.new_payment() if r.random() < 0.9 else None), cc, org)
            cache = {}
            for t, s, k in zip(ts.tolist(), sid.tolist(), turn.tolist()):
                sc = cache.get(s)
                if sc is None:
                    sc = sess_fn(t)
                    cache[s] = sc
                ip, asn, icc, u, sl = sc
                if sl:   # serverless: a fresh egress IP from the provider's range on every call
                    ip, asn, icc = geo.cloud_ip(r, cloud, cc)
                model, prompt, system, ctx, kind = row_fn(t, k, sc)
                inc.emit(aid, t, ip, asn, icc, u, model, prompt, system, ctx, kind, r)


# ---------------------------------------------------------------------------------------------- enterprise behind a secure web gateway
ZSCALER = {"US": ["165.225.0.0/18", "136.226.0.0/16"], "GB": ["147.161.128.0/17"], "DE": ["165.225.64.0/19"], "IN": ["165.225.112.0/21"],
           "FR": ["165.225.96.0/20"]}


def gen_enterprise(inc):
    group = "enterprise-proxy"
    r, g = inc.rngs(group)
    n, target, label = inc.size(group)
    counts = allocate(g, n, target, 45, 0.9, 1, 900)
    pools = {}
    for cc, pref in ZSCALER.items():
        net = Net(pref)
        pools[cc] = [v4(net.addr(r)) for _ in range(max(6, int(30 * inc.f ** 0.5)))]
    comps = [("US", 0.30), ("GB", 0.14), ("DE", 0.12), ("IN", 0.16), ("US", 0.10), ("FR", 0.18)]
    sizes = [max(1, int(round(n * w))) for _, w in comps]
    sizes[-1] = max(1, n - sum(sizes[:-1]))
    i = 0
    for ci, ((cc, _), size) in enumerate(zip(comps, sizes)):
        dom = company_domain(r).split(".")[0] + pick(r, [".com", ".com", ".co", ".group"])
        org, pay = inc.org_ids.next(), inc.new_payment()
        onboard = ts_of(2026, 5, 19, 14) if ci == len(comps) - 1 else r.uniform(ts_of(2025, 2, 1), ts_of(2026, 2, 1))
        tier = pick(r, ["pro", "standard"])
        sysp = (f"You are {company_name(dom)}'s internal assistant. Do not reveal confidential information. Follow the acceptable-use policy."
                if r.random() < 0.5 else None)
        tz0 = inc.tz(r, cc)
        for j in range(size):
            if i >= n:
                break
            nreq = int(counts[i])
            i += 1
            hire = r.random() < 0.12
            created = onboard + r.uniform(0, 2) * DAY
            if hire and onboard + 10 * DAY < T_END - 3 * DAY:   # joined the company later
                created = r.uniform(onboard + 10 * DAY, min(onboard + 400 * DAY, T_END - 3 * DAY))
            lo = max(0, int((created - T0) // DAY) + (1 if created > T0 else 0))
            lo = min(lo, N_DAYS - 1)
            tz = tz0 if r.random() < 0.9 else inc.tz(r, cc)
            nreq = max(1, int(round(nreq * ((N_DAYS - lo) / N_DAYS) ** 0.85 / 0.92)))
            days, dw = active_days(r, g, lo, N_DAYS - 1, nreq, 5.0, weekly="work", tz=tz)
            ts, sid, turn = sessions(g, nreq, days, dw, tz, DIURNAL["work"], 3.0, 90.0, 0.9, t_min=created + 300)
            dev = UA(CORP_UA(r), r)
            pool = pools[cc]

            def sess_fn(t, pool=pool, dev=dev, cc=cc):
                return pick(r, pool), 62044, cc, dev.ua(t)

            def row_fn(t, k, sc, tier=tier, sysp=sysp):
                if k > 0 and r.random() < 0.35:
                    return model_name(tier, t), humanize(r, followup(r), 0.3), sysp, k * 350, "chat"
                p = pick(r, ENTERPRISE)(r)
                kind = "code" if "SQL" in p or "error" in p.lower()[:30] else ("summary" if p.startswith("Summarize") else "write")
                return model_name(tier, t), p, sysp, 0, kind

            aid = inc.account(group, label, created, dom, pay, cc, org)
            emit_sessions(inc, r, aid, ts, sid, turn, sess_fn, row_fn)


# ---------------------------------------------------------------------------------------------- university courses (hard negative)
CALC_CONCEPTS = ["what is the ratio test", "when do I use the comparison test vs the limit comparison test",
                 "what's the difference between absolute and conditional convergence", "how do I find the interval of convergence",
                 "why does the harmonic series diverge", "how do you know which Taylor series to use", "what's the alternating series test",
                 "when do i use integration by parts vs u-sub", "what is a Maclaurin series", "how do polar coordinates work for area",
                 "what does it mean for a series to converge", "is the integral test on the final"]
CS_CONCEPTS = ["what's the difference between a heap and a BST", "explain amortized analysis like I'm 5", "how does path compression work",
               "why is AVL tree height O(log n)", "linear probing vs chaining which is better", "what is the potential method",
               "what's the accounting method for amortized analysis", "how do rotations work in AVL trees", "what is universal hashing",
               "why is BuildHeap O(n) and not O(n log n)", "what's a good hash function for strings", "expected vs worst case running time?"]
STUDENT_FU = ["why", "i don't get step {k}", "can you check my answer: I got {x}", "wait how did you get that", "is there an easier way",
              "thanks", "so the answer is {x}?", "can you explain the last part again", "what theorem is that", "ok that makes sense"]


def calc_problem(r):
    k = r.randint(0, 4)
    if k <= 1:
        return q_calculus(r)
    if k == 2:
        return f"Determine whether Σ from n=1 to ∞ of {pick(r, ['n^2/(n^4 + ' + str(r.randint(1, 9)) + ')', '(-1)^n n/(n^2 + ' + str(r.randint(1, 9)) + ')', str(r.randint(2, 7)) + '^n/n!', 'ln(n)/n^' + str(r.randint(2, 3)), '1/(n sqrt(n + ' + str(r.randint(1, 5)) + '))'])} converges or diverges. State which test you use."
    if k == 3:
        return f"Find the Maclaurin series for f(x) = {pick(r, ['x e^(' + str(r.randint(2, 5)) + 'x)', 'cos(x^2)', 'ln(1 + ' + str(r.randint(2, 4)) + 'x)', 'x/(1 - x^' + str(r.randint(2, 3)) + ')', 'sin(x)/x'])} and its radius of convergence."
    return f"Find the area enclosed by one loop of the polar curve r = {pick(r, ['sin', 'cos'])}({r.randint(2, 5)}θ)."


def cs_problem(r, topic):
    keys = ", ".join(str(r.randint(1, 99)) for _ in range(r.randint(6, 10)))
    m = pick(r, [7, 11, 13, 17])
    if topic == 0:
        return pick(r, [f"Show the result of inserting the keys {keys} one at a time into an initially empty binary min-heap. Then perform two ExtractMin operations and show the heap after each.",
                        "Prove that BuildHeap on an array of n elements runs in O(n) time.",
                        f"Give an algorithm to find the {r.randint(3, 10)} smallest elements of a max-heap of size n in O(k log k) time, and prove its correctness.",
                        f"A d-ary heap has each node with d = {r.randint(3, 5)} children. Give the running times of Insert and ExtractMax in terms of n and d."])
    if topic == 1:
        return pick(r, [f"Insert the keys {keys} into an initially empty AVL tree, showing the tree and the balance factors after each rotation.",
                        f"What is the minimum number of nodes in an AVL tree of height {r.randint(4, 9)}? Prove your answer.",
                        "Describe how to augment an AVL tree to support Rank(x) and Select(k) in O(log n) time. Justify the update cost during rotations.",
                        f"Delete the key {r.randint(1, 99)} from the AVL tree built from {keys} and rebalance."])
    if topic == 2:
        return pick(r, [f"Insert the keys {keys} into a hash table of size {m} using linear probing with h(k) = k mod {m}. Show the final table.",
                        f"Insert {keys} into a table of size {m} using double hashing with h1(k) = k mod {m} and h2(k) = 1 + (k mod {m - 2}).",
                        f"Under simple uniform hashing with load factor α = {pick(r, ['0.5', '0.75', '0.9', '2'])}, what is the expected number of probes in an unsuccessful search with chaining, and with open addressing?",
                        "Prove that the family h_{a,b}(k) = ((ak + b) mod p) mod m is universal."])
    return pick(r, ["A binary counter supports Increment and Reset. Use the potential method to show each operation takes O(1) amortized time.",
                    "A dynamic array doubles when full and halves when it is 1/4 full. Show that any sequence of n operations takes O(n) total time.",
                    f"Show the disjoint-set forest after Union({r.randint(1, 5)},{r.randint(6, 9)}), Union(2,7), Union(3,8), Union(1,3) and Find(8) with union by rank and path compression.",
                    f"A stack supports Push, Pop and MultiPop({r.randint(2, 9)}). Use the accounting method to bound the cost of n operations."])


def gen_university(inc):
    group = "university-course"
    r, g = inc.rngs(group)
    n, target, label = inc.size(group)
    n_uw = int(round(n * 0.55))
    counts = allocate(g, n, target, 38, 0.75, 2, 400)
    geo = inc.geo
    courses = []
    # UW-Madison Calc II (spring term ends, finals May 4-9). Local CDT = UTC-5
    uw_nat = [v4(Net(["128.104.0.0/16", "144.92.0.0/16"]).addr(r)) for _ in range(6)]
    uw_ps = {}
    for due in (2, 9, 12):   # due days (window index): Apr 24, May 1, May 4 (final review)
        uw_ps[due] = [calc_problem(r) for _ in range(r.randint(8, 11))]
    courses.append(dict(name="uw", tz=-5.0, cc="US", asn=59, nat=uw_nat, ps=uw_ps, concepts=CALC_CONCEPTS, lo=0, hi=17,
                        created=(ts_of(2026, 1, 20, 15), ts_of(2026, 1, 23, 23)), email="wisc.edu", org=inc.org_ids.next(),
                        class_days=(0, 2, 4), class_hours=(9.5, 10.5)))
    # U of Toronto CSC263 summer term: first lecture Tue May 5, problem sets due Fridays
    ut_nat = [v4(Net(["128.100.0.0/16", "142.150.0.0/16"]).addr(r)) for _ in range(4)]
    ut_ps = {}
    for topic, due in enumerate((23, 30, 37, 44)):  # May 15, 22, 29, Jun 5
        ut_ps[due] = [cs_problem(r, topic) for _ in range(r.randint(6, 9))]
    courses.append(dict(name="ut", tz=-4.0, cc="CA", asn=239, nat=ut_nat, ps=ut_ps, concepts=CS_CONCEPTS, lo=13, hi=44,
                        created=(ts_of(2026, 5, 4, 12), ts_of(2026, 5, 6, 4)), email="mail.utoronto.ca", org=None,
                        class_days=(1, 3), class_hours=(10.0, 12.0)))
    for i in range(n):
        c = courses[0] if i < n_uw else courses[1]
        created = r.uniform(*c["created"])
        if c["name"] == "uw" and r.random() < 0.85:
            created = ts_of(2026, 1, 20, 15) + r.uniform(0, 3 * 3600)  # first lecture: everybody signs up together
        if c["name"] == "ut" and r.random() < 0.7:
            created = ts_of(2026, 5, 5, 14) + r.uniform(0, 4 * 3600)
        nreq = int(counts[i])
        span = np.arange(c["lo"], c["hi"] + 1)
        w = np.ones(len(span))
        for j, d in enumerate(span):
            wd = (WEEKDAY0 + d) % 7
            for due in c["ps"]:
                if 0 <= due - d <= 3:
                    w[j] *= 3.0 - 0.5 * (due - d)
            if wd in c["class_days"]:
                w[j] *= 1.6
            if wd >= 5:
                w[j] *= 0.7
        days = np.sort(g.choice(span, size=min(len(span), max(1, nreq // 5 + 1)), replace=False, p=w / w.sum()))
        dw = np.array([w[d - c["lo"]] for d in days])
        dw = dw / dw.sum()
        ts, sid, turn = sessions(g, nreq, days, dw, c["tz"], DIURNAL["student"], 4.0, 80.0, 0.9, t_min=max(created, T0) + 60)
        if c["name"] == "uw" and r.random() < 0.15:   # a few keep using it after the term, from home
            extra = max(1, nreq // 4)
            ts2, sid2, turn2 = sessions(g, extra, np.arange(18, N_DAYS), day_weights(np.arange(18, N_DAYS), WEEKLY["consumer"]),
                                        c["tz"], DIURNAL["consumer"], 3.0, 70.0, 0.9)
            ts = np.concatenate([ts, ts2])
            sid = np.concatenate([sid, sid2 + 10000])
            turn = np.concatenate([turn, turn2])
            o = np.argsort(ts, kind="stable")
            ts, sid, turn = ts[o], sid[o], turn[o]
        dorm = r.random() < 0.4
        home = person_ip_plan(inc, r, c["cc"], mobile_share=0.45)
        desk, phone = person_devices(r, desk_w=0.7)
        taste = ConsumerTaste(r)
        tiers = WChoice([("standard", 80), ("reason", 12), ("lite", 8)])
        own_sfx = r.sample(STUDENT_REASON, 3)

        def sess_fn(t, c=c, dorm=dorm, home=home, desk=desk, phone=phone):
            loc = ((t / 3600.0 + c["tz"]) % 24)
            wd = (WEEKDAY0 + int((t - T0 + c["tz"] * 3600) // DAY)) % 7
            on_campus = dorm or (wd < 5 and 8.5 <= loc <= 17.5 and r.random() < 0.75)
            if on_campus and (t - T0) / DAY <= c["hi"]:
                dev = pick_device(r, desk, phone, False)
                return pick(r, c["nat"]), c["asn"], c["cc"], dev.ua(t)
            ip, asn, icc, mob = plan_ip(r, home, t)
            return ip, asn, icc, pick_device(r, desk, phone, mob).ua(t)

        def row_fn(t, k, sc, c=c, taste=taste, tiers=tiers, own_sfx=own_sfx):
            d = (t - T0) / DAY
            if d > c["hi"] + 0.5:
                p, kind, _ = consumer_prompt(r, taste, k)
                return model_name(tiers(r), t), p, None, k * 250, kind
            dues = [x for x in sorted(c["ps"]) if x >= d - 0.5]
            ps = c["ps"][dues[0] if dues else max(c["ps"])]
            x = r.random()
            if k > 0 and x < 0.22:
                s = pick(r, STUDENT_FU).replace("{k}", str(r.randint(2, 5))).replace("{x}", str(r.randint(-20, 120)))
                return model_name(tiers(r), t), s, None, k * 500, "chat"
            if x < 0.72:
                q = pick(r, ps)
                if r.random() < 0.6:
                    sfx = pick(r, own_sfx)
                    q = (q + " " + sfx).strip()
                else:
                    q = pick(r, ["help with this: ", "how do i do this one? ", "can u solve ", "", "hw question: "]) + q[0].lower() + q[1:]
                    q = humanize(r, q, 0.3, 0.05)
                return model_name(tiers(r), t), q, None, 0, "reason"
            if x < 0.9:
                return model_name(tiers(r), t), humanize(r, pick(r, c["concepts"]), 0.5), None, 0, "explain"
            p, kind, _ = consumer_prompt(r, taste, k)
            return model_name(tiers(r), t), p, None, k * 250, kind

        aid = inc.account(group, label, created, c["email"], None, c["cc"], c["org"])
        emit_sessions(inc, r, aid, ts, sid, turn, sess_fn, row_fn)


# ---------------------------------------------------------------------------------------------- edtech company (hard negative)
MATHLY_SYS = ("You are Mathly, a patient and encouraging math tutor for students in grades {band}. Explain solutions step by step using "
              "simple language. Never just give the answer without showing how to get there. Use short numbered steps. If the question "
              "is not about math, politely redirect the student to their math work. Do not ask for personal information. Keep a warm, "
              "supportive tone and check understanding at the end with one short follow-up question.")


def gen_edtech(inc):
    group = "edtech-tutoring"
    r, g = inc.rngs(group)
    n, target, label = inc.size(group)
    counts = allocate(g, n, target, 90, 1.0, 5, 4000)
    geo = inc.geo
    org, pay = inc.org_ids.next(), inc.new_payment()
    east = [geo.cloud_ip(r, "aws-use1") for _ in range(6)]
    west_asn, west_lst = geo.cloud["aws"]
    west_net = west_lst[1][0]  # 35.160.0.0/13 (us-west-2)
    west = [(v4(west_net.addr(r)), west_asn, "US") for _ in range(4)]
    recent = []
    node_switch = ts_of(2026, 5, 12, 16)
    for i in range(n):
        x = r.random()
        if x < 0.7:
            created = r.uniform(ts_of(2025, 8, 18), ts_of(2025, 9, 8))
        elif x < 0.9:
            created = r.uniform(ts_of(2026, 1, 5), ts_of(2026, 1, 20))
        else:
            created = r.uniform(T0 + DAY, T0 + 25 * DAY)
        tz = WChoice([(-4, 45), (-5, 30), (-6, 8), (-7, 17)])(r)
        lo = max(0, int((created - T0) // DAY) + 1) if created > T0 else 0
        hi_d = r.randint(29, 44)   # last school day of the district
        span = np.arange(lo, hi_d + 1)
        extra = np.array([0.1 if d == US_HOLIDAY_DAY else 1.0 for d in span])
        dw = day_weights(span, WEEKLY["school"], tz, extra)
        ts, sid, turn = sessions(g, int(counts[i]), span, dw, tz, DIURNAL["school"], 10.0, 22.0, 1.1, t_min=created + 3600)
        ips = east if tz >= -5 else west
        node = r.random() < 0.25
        band = pick(r, ["6-8", "9-10", "11-12", "6-12"])
        sysp = MATHLY_SYS.replace("{band}", band)

        def sess_fn(t, ips=ips, node=node):
            ip, asn, cc = pick(r, ips)
            ua = "helix-node/4.6.0" if (node and t >= node_switch) else "helix-python/1.38.2"
            return ip, asn, cc, ua

        def row_fn(t, k, sc, sysp=sysp):
            if recent and r.random() < 0.15:
                gr, topic, q = pick(r, recent)
            else:
                gr, topic, q = q_school(r)
                if len(recent) < 3000:
                    recent.append((gr, topic, q))
                else:
                    recent[r.randrange(3000)] = (gr, topic, q)
            if r.random() < 0.2:
                p = (f"A grade {gr} student answered \"{r.randint(-20, 150)}\" to this problem: {q}\n"
                     "Explain step by step where the mistake is, without giving away more than necessary. Be encouraging.")
            else:
                p = (f"Grade {gr} | Topic: {topic}\nStudent question: {q}\n\nSolve this step by step. Explain each step in simple "
                     f"language a grade {gr} student can follow, then state the final answer clearly.")
            tier = "pro" if r.random() < 0.15 else "standard"
            return model_name(tier, t, pinned_old=t < ts_of(2026, 5, 27)), p, sysp, 0, "reason"

        aid = inc.account(group, label, created, "mathly.io", pay, "US", org)
        emit_sessions(inc, r, aid, ts, sid, turn, sess_fn, row_fn)


# ---------------------------------------------------------------------------------------------- AI evaluation lab (hard negative)
MCQ_SUBJECT = {"algebra": "high school mathematics", "calculus": "college mathematics", "word": "elementary mathematics",
               "prob": "high school statistics", "numth": "abstract algebra", "geom": "high school mathematics", "code": "college computer science",
               "science": "college physics", "law": "professional law", "econ": "high school microeconomics", "med": "clinical knowledge",
               "logic": "formal logic", "concept": "conceptual physics"}
DIAGNOSES = ["Acute myocardial infarction", "Bacterial meningitis", "Type 1 diabetes mellitus", "Appendicitis", "Subarachnoid hemorrhage",
             "Iron deficiency anemia", "Asthma", "Deep vein thrombosis", "Graves disease", "Gout", "Pneumonia", "Stroke", "Pancreatic cancer",
             "Peptic ulcer disease", "Systemic lupus erythematosus", "Parkinson disease"]


def mcq_options(r, dom):
    if dom == "law":
        return r.sample(["Yes, because the elements of the claim are satisfied", "No, because the statute of frauds applies",
                         "No, because there was no consideration", "Yes, but only for reliance damages", "No, because the defense of assumption of risk applies",
                         "Yes, under the doctrine of promissory estoppel"], 4)
    if dom == "med":
        return r.sample(DIAGNOSES, 4)
    if dom == "code":
        return r.sample(["O(n)", "O(n log n)", "O(n^2)", "O(log n)", "O(1)", "O(2^n)"], 4)
    return [f"{round(r.uniform(0.1, 500), pick(r, [0, 1, 2])):g}" for _ in range(4)]


def bench_pool(inc):
    if getattr(inc, "_bench", None) is None:
        r = random.Random(inc.seed * 13 + 5)
        pool = []
        for _ in range(max(300, int(3000 * inc.f ** 0.5))):
            q, kind, dom = question(r, GENERAL_DOMAINS)
            pool.append((q, kind, dom, mcq_options(r, dom)))
        inc._bench = pool
    return inc._bench


def gen_evallab(inc):
    group = "eval-lab"
    r, g = inc.rngs(group)
    n, target, label = inc.size(group)
    geo = inc.geo
    pool = bench_pool(inc)
    org, pay = inc.org_ids.next(), inc.new_payment()
    gcp_asn, gcp_lst = geo.cloud["gcp"]
    runners = [(v4(gcp_lst[0][0].addr(r)), gcp_asn, "US") for _ in range(4)]
    office = (v4(Net(["50.200.0.0/13"]).addr(r)), 7922, "US")   # static business line
    aids = []
    weights = []
    for i in range(n):
        created = r.uniform(ts_of(2025, 10, 1), ts_of(2026, 3, 15))
        aids.append(inc.account(group, label, created, "evalworks.ai", pay, "US", org))
        weights.append(math.exp(r.gauss(0, 0.7)))
    wpick = WChoice(list(enumerate(weights)))
    uas = [pick(r, ["helix-python/1.41.0", "helix-python/1.43.1", "python-httpx/0.28.1"]) for _ in range(n)]
    emitted = 0
    runs = 0
    while emitted < target or runs < n:
        a = runs if runs < n else wpick(r)   # every researcher runs at least one job
        runs += 1
        tier = WChoice([("pro", 35), ("reason", 30), ("standard", 20), ("lite", 15)])(r)
        pinned = r.random() < 0.4
        samples = pick(r, [1, 1, 1, 2, 4])
        size = min(len(pool), int(r.randint(40, 500) * max(inc.f, 0.05) ** 0.3))
        start_i = r.randrange(len(pool))
        items = [pool[(start_i + j * 7) % len(pool)] for j in range(size)]
        tmpl = WChoice([("cot", 45), ("mcq", 30), ("plain", 15), ("fewshot", 10)])(r)
        shots = [pool[r.randrange(len(pool))] for _ in range(2)]
        shot_text = "".join(f"Q: {s[0]}\nA: Let's think step by step. {pick(r, ['First we set up the relationship given in the problem.', 'We work through the quantities one at a time.', 'Start from the definitions.'])} The answer is {r.randint(2, 480)}.\n\n" for s in shots)
        sysp = "You are a helpful assistant." if r.random() < 0.3 else None
        if tmpl == "plain":
            sysp = "You are a helpful assistant. Solve the problem and give only the final answer on the last line."
        conc = pick(r, [4, 8, 16, 32])
        lat = 25.0 if tier == "reason" else 9.0
        rate = conc / lat
        nreq = size * samples
        gaps = g.exponential(1.0 / rate, size=nreq)
        offs = np.cumsum(gaps)
        dur = float(offs[-1])
        if r.random() < 0.7:
            d = r.randrange(N_DAYS)
            h = int(g.choice(24, p=DIURNAL["work"]))
            st = T0 + d * DAY + (h + 4) * 3600 + r.random() * 3600
        else:
            st = T0 + r.random() * N_DAYS * DAY
        st = soft_clamp(r, st, T0 + 60, T_END - dur - 60)
        adhoc = r.random() < 0.05
        ip, asn, cc = office if adhoc else pick(r, runners)
        reqs = [(it, s) for it in items for s in range(samples)]
        for ((q, kind, dom, opts), _s), o in zip(reqs, offs.tolist()):
            t = st + o
            if tmpl == "cot":
                p = f"{q}\n\nLet's think step by step. At the end, write your final answer in the form \"Answer: <answer>\"."
                k2 = "reason"
            elif tmpl == "mcq":
                p = (f"The following is a multiple choice question about {MCQ_SUBJECT[dom]}. Think step by step and then finish your answer "
                     f"with \"the answer is (X)\" where X is the correct letter choice.\n\nQuestion: {q}\nOptions:\n"
                     + "\n".join(f"({l}) {v}" for l, v in zip("ABCD", opts)) + "\nAnswer: Let's think step by step.")
                k2 = "mcq"
            elif tmpl == "plain":
                p, k2 = q, "explain"
            else:
                p = shot_text + f"Q: {q}\nA: Let's think step by step."
                k2 = "reason"
            inc.emit(aids[a], t, ip, asn, cc, uas[a], model_name(tier, t, pinned), p, sysp, 0, k2, r)
            emitted += 1


# ---------------------------------------------------------------------------------------------- ATTACK 1: rotating residential farm
FARM_CC = WChoice([("US", 30), ("GB", 8), ("DE", 6), ("CA", 6), ("FR", 4), ("AU", 4), ("NL", 3), ("IN", 6), ("BR", 5), ("JP", 3),
                   ("ES", 3), ("IT", 3), ("MX", 3), ("PL", 2), ("KR", 2), ("SG", 2), ("ID", 2), ("PH", 2), ("TR", 2), ("VN", 1)])
FARM_DOMAINS = WChoice([("algebra", 8), ("calculus", 10), ("word", 8), ("prob", 7), ("numth", 6), ("geom", 6), ("code", 20),
                        ("science", 14), ("law", 10), ("econ", 6), ("med", 6), ("logic", 4), ("concept", 3)])
FARM_PROBES = ["Why does step {k} follow from the previous one?", "Can you double-check the calculation in step {k}?",
               "Is there a different method? Show it step by step too.", "What would change if the numbers were different, say {n} instead?",
               "Explain the key idea behind the solution in more depth.", "Can you verify the final answer another way?",
               "Where do people usually go wrong on this type of problem?", "Can you generalize this result?",
               "Explain the intuition, not just the algebra.", "Could you redo it more rigorously?", "Why is that approach valid here?",
               "Now explain it as if to a beginner, step by step.", "What assumptions did you make, and are they justified?"]
PROBE_OPEN = ["", "", "", "Thanks. ", "Got it. ", "Hmm, ", "OK. ", "Interesting. ", "Wait, ", "Follow-up: ", "One more thing: ", "Nice. "]
PROBE_CLOSE = ["", "", "", " Please be detailed.", " Show the steps.", " Explain carefully.", " Keep the same level of rigor.", " Be precise."]


def farm_probe(r):
    s = pick(r, FARM_PROBES).replace("{k}", str(r.randint(2, 6))).replace("{n}", str(r.randint(2, 60)))
    o = pick(r, PROBE_OPEN)
    if o and o[-2] not in ".:" and o != "":
        s = s[0].lower() + s[1:]
    s = o + s + pick(r, PROBE_CLOSE)
    return humanize(r, s, 0.25, 0.03)


FARM_SYS = ["You are a helpful assistant.", "You are an expert tutor. Be thorough and precise.", "Answer as a careful domain expert.",
            "You are a meticulous problem solver.", "Be detailed."]


def farm_prompt(inc, r, lead_p, wrap_p):
    q, kind, dom = inc.unique_q(r, lambda rr: question(rr, FARM_DOMAINS))
    lead = pick(r, PARAPHRASE_LEAD) if r.random() < lead_p else ""
    if lead and not lead.endswith(" "):
        lead += " "
    body = lead + (q[0].lower() + q[1:] if lead.endswith(": ") and r.random() < 0.3 else q)
    if r.random() < wrap_p:
        x = r.random()
        if x < 0.62:
            body = body + ("\n\n" if r.random() < 0.35 else " ") + pick(r, REASON_VARIED)
        elif x < 0.88:
            body = pick(r, REASON_PREFIX) + body
        else:
            body = pick(r, REASON_VARIED) + "\n\n" + body
        kind = "reason" if kind != "code" else "code"
    if r.random() < 0.15:
        body = humanize(r, body, 0.4, 0.05)
    return body, kind


def gen_farm(inc):
    group = "rotating-farm"
    r, g = inc.rngs(group)
    n, target, label = inc.size(group)
    counts = allocate(g, n, target, 50, 0.4, 16, 110)
    geo = inc.geo
    w = np.array([(1.0 if d < LAUNCH_DAY else 1.3) * [1.12, 1.08, 1.02, 1.0, .92, .85, .95][(WEEKDAY0 + d) % 7] for d in range(N_DAYS)])
    w /= w.sum()
    for i in range(n):
        cc = FARM_CC(r)
        tz = inc.tz(r, cc)
        d0 = int(g.choice(N_DAYS, p=w))
        nd = int(g.choice([1, 2, 3], p=[0.4, 0.35, 0.25]))
        days = [d0]
        while len(days) < nd:
            days.append(days[-1] + (1 if r.random() < 0.75 else 2))
        days = np.array([d for d in days if d < N_DAYS])
        nreq = int(counts[i])
        dw = day_weights(days, WEEKLY["consumer"], tz)
        ts, sid, turn = sessions(g, nreq, days, dw, tz, DIURNAL["daytime"], 9.0, 55.0, 0.75)
        x = r.random()
        if x < 0.3:   # aged accounts bought or parked weeks earlier
            created = T0 + d0 * DAY - r.uniform(7, 90) * DAY
        elif x < 0.7:  # registered by the signup bot, warmed up for hours or days
            created = ts[0] - max(600.0, 5 * 3600 * math.exp(r.gauss(0, 1.1)))
        else:          # registered and used straight away, like a new user
            created = ts[0] - r.uniform(45.0, 1500.0)
        created = min(created, ts[0] - 120.0)
        second_cc = pick(r, ["US", "GB", "CA", "DE", "NL", "AU", "FR"]) if r.random() < 0.15 else None
        desk, phone = person_devices(r)
        paid = r.random() < 0.55
        tiers = WChoice([("reason", 55), ("pro", 35), ("standard", 10)])
        sysp = pick(r, FARM_SYS) if r.random() < 0.1 else None
        taste = ConsumerTaste(r)
        lead_p, wrap_p = r.uniform(0.2, 0.6), r.uniform(0.65, 0.92)
        p_harvest = r.uniform(0.62, 0.78)

        def sess_fn(t, cc=cc, second_cc=second_cc, desk=desk, phone=phone):
            use_cc = second_cc if (second_cc and r.random() < 0.35) else cc
            x = r.random()
            if x < 0.18 and geo.cgnat.get(use_cc):
                asn, pool, _ = geo.mobile_carrier(r, use_cc)
                return pick(r, pool), asn, use_cc, pick_device(r, desk, phone, True).ua(t)
            if x < 0.23 and geo.household_ips.get(use_cc):
                ip, asn = pick(r, geo.household_ips[use_cc])   # exit node is a real subscriber's line
                return ip, asn, use_cc, pick_device(r, desk, phone, False).ua(t)
            asn, net, p6 = pick(r, geo.home[use_cc])           # a different ISP almost every session
            ip = v6(v6_prefix64(r, p6) + r.getrandbits(64)) if (p6 and r.random() < 0.2) else v4(net.addr(r))
            return ip, asn, use_cc, pick_device(r, desk, phone, False).ua(t)

        def row_fn(t, k, sc, tiers=tiers, sysp=sysp, taste=taste, lead_p=lead_p, wrap_p=wrap_p, p_harvest=p_harvest):
            x = r.random()
            if x < p_harvest:
                p, kind = farm_prompt(inc, r, lead_p, wrap_p)
                return model_name(tiers(r), t), p, sysp, 0, kind
            if k > 0 and x < p_harvest + 0.12:
                s = farm_probe(r)
                return model_name(tiers(r), t), s, sysp, int(900 * math.exp(r.gauss(0, 0.5))), "reason"
            p, kind, _ = consumer_prompt(r, taste, k)      # cover traffic
            return model_name(pick(r, ["standard", "standard", "pro"]), t), p, sysp, k * 200 if k else 0, kind

        aid = inc.account(group, label, created, EMAIL_PICK[cc](r), inc.new_payment() if paid else None, cc, None)
        emit_sessions(inc, r, aid, ts, sid, turn, sess_fn, row_fn)


# ---------------------------------------------------------------------------------------------- ATTACK 2: slow embedded accounts
SLOW_CC = WChoice([("US", 35), ("GB", 12), ("DE", 10), ("NL", 8), ("CA", 10), ("SG", 5), ("FR", 5), ("AU", 5), ("IN", 5), ("JP", 5)])
SLOW_DOMAINS = WChoice([("algebra", 10), ("calculus", 10), ("word", 12), ("prob", 8), ("numth", 8), ("geom", 6), ("code", 24),
                        ("science", 12), ("logic", 6), ("law", 2), ("econ", 2)])
SLOW_WRAPPERS = [
    "{q}\n\nPlease reason through this carefully, step by step, and put the final answer on its own line.",
    "I'm working through some practice problems. {q} Can you walk me through how to get there?",
    "{q}\n\nExplain your reasoning in detail before giving the answer.",
]


def gen_slow(inc):
    group = "slow-embedded"
    r, g = inc.rngs(group)
    n, target, label = inc.size(group)
    counts = allocate(g, n, target, target / max(n, 1), 0.35, 60, 5000)
    geo = inc.geo
    pool = bench_pool(inc)
    pool_order = list(range(len(pool)))
    r.shuffle(pool_order)
    vpn_idx = list(range(len(geo.vpn)))
    r.shuffle(vpn_idx)
    used_vpn = vpn_idx[: max(6, len(vpn_idx) * 2 // 5)]     # the servers of the VPN brand they bought
    lin_asn, lin_lst = geo.cloud["linode"]
    slip_ips = [(v4(lin_lst[0][0].addr(r)), lin_asn, "US") for _ in range(3)]   # their own boxes, used by mistake
    i = 0
    while i < n:
        team = r.random() < 0.1 and n - i >= 2
        size = min(n - i, r.randint(2, 4)) if team else 1
        org = inc.org_ids.next() if team else None
        dom_team = company_domain(r) if team else None
        pay_team = inc.new_payment() if team else None
        for _ in range(size):
            nreq = int(counts[i])
            i += 1
            cc = SLOW_CC(r)
            tz = inc.tz(r, cc)
            created = r.uniform(ts_of(2025, 5, 1), ts_of(2026, 1, 31))
            sdk = r.random() < 0.5
            ua_obj = None if sdk else UA(pick(r, ["win_chrome", "mac_chrome", "mac_safari", "win_edge"]), r)
            sdk_s = sdk_ua(r, "py") if sdk else None
            k_days = int(np.clip(round(N_DAYS * r.uniform(0.5, 0.8)), 5, N_DAYS))
            span = np.arange(N_DAYS)
            days = np.sort(g.choice(span, size=k_days, replace=False, p=day_weights(span, [1, 1, 1, 1, .95, .55, .5], tz)))
            dw = day_weights(days, WEEKLY["flat"])
            ts, sid, turn = sessions(g, nreq, days, dw, tz, DIURNAL[pick(r, ["work", "daytime"])], 6.0, 150.0, 0.9)
            local = [j for j in used_vpn if geo.vpn[j][2] == cc]
            mine = r.sample(local, min(len(local), r.randint(2, 4))) if local else []
            mine += r.sample(used_vpn, r.randint(1, 3) if mine else r.randint(3, 6))
            mine_w = WChoice([(j, 4.0 if j in local else 1.0) for j in mine])
            slip = r.random() < 0.35
            offset = r.randrange(3)
            taste = ConsumerTaste(r, code_boost=3.0 if sdk else 1.0)
            app = DevApp(r, "") if sdk else None
            p_h = r.uniform(0.48, 0.62)
            sysp_h = "You are a helpful assistant." if (sdk and r.random() < 0.4) else None
            email = dom_team or WChoice([("gmail.com", 40), ("outlook.com", 10), (company_domain(r), 45), ("proton.me", 5)])(r)

            def sess_fn(t, mine_w=mine_w, slip=slip, sdk_s=sdk_s, ua_obj=ua_obj):
                if slip and r.random() < 0.08:
                    ip, asn, icc = pick(r, slip_ips)
                else:
                    ip, asn, icc = geo.vpn[mine_w(r)]
                return ip, asn, icc, (sdk_s if sdk_s else ua_obj.ua(t))

            def row_fn(t, k, sc, offset=offset, taste=taste, app=app, p_h=p_h, sysp_h=sysp_h):
                if r.random() < p_h:
                    if r.random() < 0.08 and pool_order:
                        q = pool[pool_order.pop()][0]   # public benchmark items, each harvested once
                        kind = "reason"
                    else:
                        q, kind, _ = inc.unique_q(r, lambda rr: question(rr, SLOW_DOMAINS))
                    week = int((t - T0) // (7 * DAY))
                    wi = (week + offset) % 3 if r.random() < 0.8 else r.randrange(3)
                    p = SLOW_WRAPPERS[wi].replace("{q}", q)
                    tier = "reason" if r.random() < 0.65 else "pro"
                    return model_name(tier, t), p, sysp_h, 0, ("reason" if kind != "code" else "code")
                if app is not None and r.random() < 0.5:
                    p, sp, kind = app.request(r)
                    return model_name("standard", t), p, sp if sp else app.system, 0, kind
                p, kind, _ = consumer_prompt(r, taste, k)
                return model_name("standard" if r.random() < 0.7 else "pro", t), p, None, k * 250 if k else 0, kind

            aid = inc.account(group, label, created, email, pay_team or inc.new_payment(), cc, org)
            emit_sessions(inc, r, aid, ts, sid, turn, sess_fn, row_fn)


# ----------------------------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------------------------

def build(seed, rows, verbose=True):
    inc = Incident(seed, rows)
    steps = [
        ("consumer", lambda: gen_person_population(inc, "consumer", CONSUMER_CC)),
        ("mobile-cgnat", lambda: gen_person_population(inc, "mobile-cgnat", CGNAT_CC, phone_only_p=1.0, mobile_share=1.0,
                                                       mobile_p_range=(0.7, 0.97), diurnal="mobile", new_p=0.15, paid_p=0.15,
                                                       median=14, sigma=1.1, hi=1500)),
        ("vpn-users", lambda: gen_person_population(inc, "vpn-users", VPN_HOME_CC, mobile_share=0.2, new_p=0.12, paid_p=0.35,
                                                    median=18, sigma=1.1, hi=1500, vpn=True, homework_boost=1.5, code_boost=2.5)),
        ("developer", lambda: gen_developer(inc)),
        ("enterprise-proxy", lambda: gen_enterprise(inc)),
        ("trial-churn", lambda: gen_trial(inc)),
        ("university-course", lambda: gen_university(inc)),
        ("edtech-tutoring", lambda: gen_edtech(inc)),
        ("eval-lab", lambda: gen_evallab(inc)),
        ("exam-prep", lambda: gen_exam(inc)),
        ("rotating-farm", lambda: gen_farm(inc)),
        ("slow-embedded", lambda: gen_slow(inc)),
    ]
    for name, fn in steps:
        t = time.time()
        before = len(inc.cols["ts"])
        fn()
        inc.group_rows[name] = len(inc.cols["ts"]) - before
        if verbose:
            print(f"  {name:18s} {inc.group_rows[name]:>8,d} rows  {time.time() - t:6.1f}s", file=sys.stderr)
    return inc


def write(inc, out):
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    c = inc.cols
    us = np.round(np.asarray(c["ts"], dtype=np.float64) * 1e6).astype(np.int64)
    df = pl.DataFrame({
        "us": us,
        "account_id": pl.Series(c["account_id"], dtype=pl.String),
        "ip": pl.Series(c["ip"], dtype=pl.String),
        "asn": pl.Series(c["asn"], dtype=pl.Int64),
        "country": pl.Series(c["country"], dtype=pl.String),
        "user_agent": pl.Series(c["user_agent"], dtype=pl.String),
        "model": pl.Series(c["model"], dtype=pl.String),
        "input_tokens": pl.Series(c["input_tokens"], dtype=pl.Int64),
        "output_tokens": pl.Series(c["output_tokens"], dtype=pl.Int64),
        "prompt": pl.Series(c["prompt"], dtype=pl.String),
        "system_prompt": pl.Series(c["system_prompt"], dtype=pl.String),
    })
    inc.cols = None
    df = df.sort(["us", "account_id"], maintain_order=True)
    n = df.height
    df = df.with_columns(
        pl.Series("request_id", request_ids(inc.seed, n), dtype=pl.String),
        pl.from_epoch(pl.col("us"), time_unit="us").dt.replace_time_zone("UTC").alias("timestamp"),
        ((pl.col("us") - T0 * 1_000_000) // (DAY * 1_000_000)).alias("day"),
    )
    assert df["day"].min() >= 0 and df["day"].max() < N_DAYS
    # accounts: created_at never after the account's first request
    first = dict(df.group_by("account_id").agg(pl.col("us").min()).iter_rows())
    fixed = 0
    acc_rows = []
    silent = {a[0] for a in inc.accounts if a[0] not in first}
    if silent:
        print(f"warning: {len(silent)} accounts without requests dropped", file=sys.stderr)
        inc.labels = [x for x in inc.labels if x[0] not in silent]
    for aid, created, email, pay, bill, org in inc.accounts:
        if aid in silent:
            continue
        cu = int(round(created * 1e6))
        if cu > first[aid] - 1_000_000:
            cu = first[aid] - 60_000_000
            fixed += 1
        acc_rows.append((aid, cu, email, pay, bill, org))
    acc = pl.DataFrame(acc_rows, schema={"account_id": pl.String, "created_us": pl.Int64, "email_domain": pl.String,
                                         "payment_fingerprint": pl.String, "billing_country": pl.String, "org_id": pl.String},
                       orient="row")
    acc = acc.with_columns(pl.from_epoch(pl.col("created_us"), time_unit="us").dt.replace_time_zone("UTC").alias("created_at"))
    acc = acc.select("account_id", "created_at", "email_domain", "payment_fingerprint", "billing_country", "org_id")
    lab = pl.DataFrame(inc.labels, schema={"account_id": pl.String, "label": pl.String, "group": pl.String}, orient="row")
    cols = ["request_id", "timestamp", "account_id", "ip", "asn", "country", "user_agent", "model", "input_tokens",
            "output_tokens", "prompt", "system_prompt"]
    for d in range(N_DAYS):
        day = (WIN_START + dt.timedelta(days=d)).strftime("%Y-%m-%d")
        part = df.filter(pl.col("day") == d).select(cols)
        part.write_parquet(os.path.join(out, "logs", f"{day}.parquet"), compression="zstd")
    acc.write_parquet(os.path.join(out, "accounts.parquet"))
    lab.write_parquet(os.path.join(out, "labels.parquet"))
    return n, fixed, df


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    t0 = time.time()
    inc = build(a.seed, a.rows, verbose=not a.quiet)
    group_rows = dict(inc.group_rows)
    n, fixed, _ = write(inc, a.out)
    labels = list(inc.labels)
    if not a.quiet:
        acc_by = {}
        for _, lab, grp in labels:
            acc_by[(grp, lab)] = acc_by.get((grp, lab), 0) + 1
        print(f"rows {n:,}  accounts {len(labels):,}  created_at adjusted {fixed}  {time.time() - t0:.1f}s", file=sys.stderr)
        for (grp, lab), k in acc_by.items():
            print(f"  {lab:14s} {grp:18s} accounts {k:>6,d} rows {group_rows.get(grp, 0):>8,d}", file=sys.stderr)


if __name__ == "__main__":
    main()
