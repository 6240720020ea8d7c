"""The agent's /metrics (Prometheus text format) as {"name{labels}": value}, for the tools
that read it from outside: the soak and the benchmark."""
import re
import urllib.request

SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) ([0-9.eE+-]+|NaN|[+-]Inf)$")


def scrape(port, timeout=5):
    """Every sample of http://127.0.0.1:PORT/metrics; {} when the agent does not answer."""
    try:
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                      timeout=timeout).read()
    except OSError:
        return {}
    out = {}
    for ln in body.decode(errors="replace").splitlines():
        m = SAMPLE.match(ln)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def by_name(samples):
    """Samples summed over their labels: {"name": value}."""
    out = {}
    for key, v in samples.items():
        name = key.split("{")[0]
        out[name] = out.get(name, 0) + v
    return out
