"""Modelled energy from CPU time and a board profile (always labelled as modelled).

E = cpu_seconds x P_one_core, with P_one_core = P_idle + (P_full - P_idle) / cores: the board's idle
draw plus one core's share of its load increase, since every system here runs on one thread. The
model is linear in CPU time, so the ratio between two systems measured in the same run does not depend
on the profile; the absolute joules do, and are only as good as the profile.
"""
from __future__ import annotations

import os
import platform

# idle / full-load watts and core counts. Raspberry Pi figures: Jeff Geerling's sbc-reviews
# (idle, stress-ng all cores); the Pi Dramble figures for 3B+ / 4B are 1.9/5.1 W and 2.7/6.4 W.
PROFILES = {
    "pi3b+": {"idle_w": 3.1, "full_w": 5.6, "cores": 4, "source": "Geerling sbc-reviews (measured at the wall)"},
    "pi4b": {"idle_w": 1.6, "full_w": 5.0, "cores": 4, "source": "Geerling sbc-reviews (measured at the wall)"},
    "pi5": {"idle_w": 2.8, "full_w": 9.7, "cores": 4, "source": "Geerling sbc-reviews (measured at the wall)"},
    # This workplace: a 2-vCPU slice of an AMD EPYC server. No power sensor is readable, so a round
    # modelled figure: ~7 W per busy core (a 64-core EPYC at ~225 W TDP is ~3.5 W/core; SMT siblings
    # and uncore roughly double that per vCPU pair), no idle share (the host's idle is not ours).
    "x86-64-epyc-vcpu": {"idle_w": 0.0, "full_w": 14.0, "cores": 2, "source": "modelled: ~7 W per busy vCPU (TDP/cores estimate)"},
}


def host_profile() -> str:
    """The profile of the machine this runs on (by architecture and /proc/device-tree model)."""
    model = ""
    try:
        with open("/proc/device-tree/model", "rb") as f:
            model = f.read().decode(errors="ignore")
    except OSError:
        pass
    if "Raspberry Pi 5" in model:
        return "pi5"
    if "Raspberry Pi 4" in model:
        return "pi4b"
    if "Raspberry Pi 3" in model:
        return "pi3b+"
    return "x86-64-epyc-vcpu" if platform.machine() in ("x86_64", "AMD64") else "pi4b"


def one_core_watts(profile: str) -> float:
    p = PROFILES[profile]
    return p["idle_w"] + (p["full_w"] - p["idle_w"]) / p["cores"]


def energy_j(cpu_s: float, profile: str) -> float:
    """Modelled joules for `cpu_s` seconds of one busy core on `profile`."""
    return cpu_s * one_core_watts(profile)


def lpcv_score(accuracy: float | None, energy_joules: float) -> float | None:
    """LPCV 2020 score: accuracy / energy in watt-hours."""
    if accuracy is None or energy_joules <= 0:
        return None
    return accuracy / (energy_joules / 3600.0)


def cpu_count() -> int:
    return os.cpu_count() or 1
