"""Throughput of instrument scoring, against a bare-arithmetic baseline measured in the same run.

Run: PYTHONPATH=src python benchmarks/bench_instruments.py [--small]
(``--small`` or ``TRIALKIT_BENCH_SMALL=1``: 20 scores each, for the test suite.)
The baseline is the same PASI arithmetic on plain ints/floats with no validation: the ratio
shows what validation, exact Decimal/Fraction arithmetic and the result object cost.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from trialkit.instruments import CDAI, PASI, SF36_PCS, get_instrument

SMALL = "--small" in sys.argv or os.environ.get("TRIALKIT_BENCH_SMALL") == "1"
N = 20 if SMALL else 2000

PASI_VALUES: dict[str, object] = {}
for region in ("head", "upper_limbs", "trunk", "lower_limbs"):
    PASI_VALUES |= {
        f"{region}_erythema": 2,
        f"{region}_induration": 3,
        f"{region}_desquamation": 1,
        f"{region}_area_percent": "35.5",
    }
CDAI_VALUES: dict[str, object] = {
    **{f"liquid_stools_day_{d}": 3 for d in range(1, 8)},
    **{f"abdominal_pain_day_{d}": 1 for d in range(1, 8)},
    **{f"general_wellbeing_day_{d}": 2 for d in range(1, 8)},
    "arthritis_arthralgia": True,
    "iritis_uveitis": False,
    "skin_mouth_lesions": False,
    "anal_fissure_fistula_abscess": False,
    "other_fistula": False,
    "fever": False,
    "antidiarrheal": False,
    "abdominal_mass": "2",
    "sex": "female",
    "hematocrit": "38.5",
    "weight": "61.2",
    "standard_weight": "64",
}
SF36_VALUES = {f"item_{n:02d}": 2 for n in range(1, 37)}
ALT_VALUES = {"value": "95", "uln": "40", "baseline": "30"}


def baseline_pasi() -> float:
    weights = (0.1, 0.2, 0.3, 0.4)
    total = 0.0
    for w in weights:
        total += w * (2 + 3 + 1) * 3
    return total


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    for _ in range(N):
        fn()
    return (time.perf_counter() - start) / N


def main() -> None:
    base = timed(baseline_pasi)
    alt = get_instrument("ctcae_alt_increased")
    cases: list[tuple[str, Callable[[], object]]] = [
        ("pasi", lambda: PASI.score(PASI_VALUES)),
        ("cdai", lambda: CDAI.score(CDAI_VALUES)),
        ("sf36_pcs", lambda: SF36_PCS.score(SF36_VALUES)),
        ("ctcae_alt_increased", lambda: alt.score(ALT_VALUES)),
    ]
    print(f"baseline (bare float PASI arithmetic): {base * 1e6:8.2f} us per call")
    for name, fn in cases:
        result = fn()
        if getattr(result, "value", None) is None and name != "sf36_pcs":
            raise SystemExit(f"{name}: the benchmark's input gives no score: {result}")
        per = timed(fn)
        print(
            f"{name:22s} {per * 1e6:8.1f} us per score  {1 / per:9.0f} scores/s  "
            f"{per / base:7.0f} x baseline"
        )


if __name__ == "__main__":
    main()
