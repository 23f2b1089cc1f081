"""Statistics the benchmark scripts share."""
import random
import statistics


def added_interval(base, side, draws=2000):
    """A seeded 95% bootstrap interval of median(side) - median(base)."""
    rng = random.Random(21)
    diffs = sorted(statistics.median(rng.choices(side, k=len(side))) -
                   statistics.median(rng.choices(base, k=len(base))) for _ in range(draws))
    return diffs[int(draws * 0.025)], diffs[int(draws * 0.975) - 1]
