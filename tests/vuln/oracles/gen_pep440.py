#!/usr/bin/python3
"""Writes N random PEP 440 version pairs with Python packaging's verdict (the oracle).
usage: gen_pep440.py OUT.tsv N SEED"""
import random
import sys

from packaging.version import InvalidVersion, Version

out, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
SEP = ["", ".", "-", "_"]


def num():
    return str(rng.choice([0, 0, 1, 2, 3, 9, 10, 11, 99, 100, 2024, rng.randrange(0, 10**6)]))


def rand_version():
    v = "v" if rng.random() < 0.05 else ""
    if rng.random() < 0.08:
        v += num() + "!"
    v += ".".join(num() for _ in range(rng.choice([1, 1, 2, 2, 3, 3, 4])))
    if rng.random() < 0.35:
        v += rng.choice(SEP) + rng.choice(["a", "alpha", "b", "beta", "rc", "c", "pre", "preview", "A", "RC"])
        if rng.random() < 0.8:
            v += rng.choice(SEP) + num()
    r = rng.random()
    if r < 0.12:
        v += "-" + num()
    elif r < 0.3:
        v += rng.choice(SEP) + rng.choice(["post", "rev", "r", "POST"])
        if rng.random() < 0.8:
            v += rng.choice(SEP) + num()
    if rng.random() < 0.25:
        v += rng.choice(SEP) + rng.choice(["dev", "DEV"])
        if rng.random() < 0.8:
            v += rng.choice(SEP) + num()
    if rng.random() < 0.12:
        parts = [rng.choice(["ubuntu", "deb", "x", "abc", num(), num(), "1a"]) for _ in range(rng.randint(1, 3))]
        v += "+" + "".join(p + rng.choice([".", "-", "_"]) for p in parts[:-1]) + parts[-1]
    if rng.random() < 0.02:
        v = " " + v + "\n"[:0] + " "
    return v


def mutate(v):
    choice = rng.random()
    if choice < 0.3:
        return v + rng.choice([".0", ".0.0", "a1", ".post1", ".dev0", "+local", "-1", "rc1"])
    if choice < 0.5:
        return v.replace(".", rng.choice(["-", "_", "."]), 1) if "." in v else v + ".0"
    if choice < 0.7:
        digits = [i for i, c in enumerate(v) if c.isdigit()]
        if digits:
            i = rng.choice(digits)
            return v[:i] + str(rng.randrange(10)) + v[i + 1:]
    return rand_version()


written = 0
with open(out, "w") as f:
    while written < n:
        a = rand_version()
        b = mutate(a) if rng.random() < 0.6 else rand_version()
        try:
            va, vb = Version(a), Version(b)
        except InvalidVersion:
            continue
        c = (va > vb) - (va < vb)
        f.write(f"{a}\t{b}\t{c}\n")
        written += 1
