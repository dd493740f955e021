"""Small statistics helpers for sensor readings — written for clarity, not speed.

FasterPy's demo file: `fasterpy optimize data/examples/slow_stats.py -f pairwise_close -f running_means`.
Several functions here are slow in ways a rewrite can fix (membership tests on a list inside a loop,
repeated sums over slices, string concatenation in a loop, sorting to find a minimum). Running the file is the
driver FasterPy records inputs from.
"""

import math
import random


class Reading:
    """One sensor reading."""

    def __init__(self, sensor, value):
        self.sensor = sensor
        self.value = value

    def __repr__(self):
        return f"Reading({self.sensor!r}, {self.value!r})"


def pairwise_close(values, tolerance):
    """Distinct values that have a different value within `tolerance`, in first-seen order.

    Readings carry two decimals, so they are compared in whole cents."""
    cents = [round(v * 100) for v in values]
    steps = round(tolerance * 100)
    close = []
    for v, c in zip(values, cents):
        if v not in close and any(c + d in cents for d in range(-steps, steps + 1) if d != 0):
            close.append(v)
    return close


def running_means(values, window):
    """Mean of each full window of `window` consecutive values."""
    means = []
    for i in range(len(values) - window + 1):
        means.append(sum(values[i : i + window]) / window)
    return means


def format_report(readings):
    """One line per reading, as text."""
    report = ""
    for r in readings:
        report = report + r.sensor + ": " + f"{r.value:.3f}" + "\n"
    return report


def coldest(readings):
    """The reading with the lowest value."""
    return sorted(readings, key=lambda r: r.value)[0]


def unique_sensors(readings):
    """Sensor names in first-seen order."""
    names = []
    for r in readings:
        if r.sensor not in names:
            names.append(r.sensor)
    return names


def stddev(values):
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def make_readings(n, seed):
    rng = random.Random(seed)
    return [Reading(f"s{rng.randrange(40)}", round(rng.uniform(-10.0, 35.0), 2)) for _ in range(n)]


if __name__ == "__main__":
    for n, seed in ((50, 1), (300, 2), (600, 3)):
        readings = make_readings(n, seed)
        values = [r.value for r in readings]
        close = pairwise_close(values, 0.01)
        means = running_means(values, 25)
        print(f"n={n}: {len(close)} close values, {len(means)} means, last mean {means[-1]:.3f}")
        print(f"  coldest {coldest(readings)}, {len(unique_sensors(readings))} sensors, sd {stddev(values):.3f}")
        print(f"  report has {len(format_report(readings).splitlines())} lines")
