"""A tiny program whose hottest function has an HTML payload as its code name."""


def lookup_slow(n):
    s = 0
    for i in range(n):
        for j in range(n):
            s += i ^ j
    return s


def lookup_fast(n):
    return sum(range(n))


def payload(n):
    return lookup_slow(n)


payload.__code__ = payload.__code__.replace(
    co_name="<img src=x onerror=window.__pwned=1>",
    co_qualname="<img src=x onerror=window.__pwned=1>",
)


def main():
    for _ in range(60):
        payload(250)
        lookup_fast(200000)


main()
