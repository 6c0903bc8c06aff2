"""Platform video ids and URLs shaped like FVC's (YouTube, Facebook, Twitter)."""

from __future__ import annotations

import string

import numpy as np

PLATFORMS = ("youtube", "facebook", "twitter")
#: Drawn independently of the label; FVC's reposts are about 58/39/3 %, Twitter is raised here.
PLATFORM_P = (0.5, 0.35, 0.15)
_YT_CHARS = string.ascii_letters + string.digits + "-_"
#: A YouTube id's 11th character encodes only 4 bits, so it comes from this set.
_YT_LAST = "AEIMQUYcgkosw048"
_FB_PAGES = (
    "dailyviralclips",
    "worldnewsnow24",
    "amazingplanetvideos",
    "thelocalherald",
    "stormchasersunited",
    "funnyfailsdaily",
    "citybeatreporter",
    "wildlifemomentstv",
    "roadcamcompilation",
    "trendingtodayofficial",
)
_TW_USERS = (
    "jmarsh_88",
    "stormwatcher_uk",
    "breakingfeed",
    "kat_lindqvist",
    "news_by_ortiz",
    "ViralHogTV",
    "dashcam_daily",
    "m_okafor",
)


def draw_platform(rng: np.random.Generator) -> str:
    """One platform name."""
    return str(PLATFORMS[int(rng.choice(len(PLATFORMS), p=PLATFORM_P))])


def draw_video_id(rng: np.random.Generator, platform: str) -> str:
    """A fresh id: 11-char YouTube id, 15-17 digit Facebook video id, or 18-digit tweet id."""
    if platform == "youtube":
        chars = [_YT_CHARS[i] for i in rng.integers(len(_YT_CHARS), size=10)]
        return "".join(chars) + _YT_LAST[int(rng.integers(len(_YT_LAST)))]
    if platform == "facebook":
        n = int(rng.integers(15, 18))
        return str(int(rng.integers(1, 10))) + "".join(str(d) for d in rng.integers(10, size=n - 1))
    if platform == "twitter":
        return str(int(rng.integers(6, 10))) + "".join(str(d) for d in rng.integers(10, size=17))
    raise ValueError(f"unknown platform {platform!r}")


def video_url(rng: np.random.Generator, platform: str, video_id: str) -> str:
    """The URL an FVC annotation row would hold for this id."""
    if platform == "youtube":
        return f"https://www.youtube.com/watch?v={video_id}"
    if platform == "facebook":
        return f"https://www.facebook.com/{_FB_PAGES[int(rng.integers(len(_FB_PAGES)))]}/videos/{video_id}/"
    return f"https://twitter.com/{_TW_USERS[int(rng.integers(len(_TW_USERS)))]}/status/{video_id}"
