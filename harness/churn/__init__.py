"""Domain activation under a live stream of Ingress changes (docs/churn.md).

Pipeline, one module each:

- ``stream``: the seeded Poisson change stream and the change kinds and mix;
- ``replay``: the replay file of timestamped changes (parse, write, line-numbered errors);
- ``events``: the stream applied to a workload once, ahead of time (each change made
  concrete: the host added, the objects changed), and the Ingress store a control plane
  reads;
- ``debounce``: Istio's debounce and push queue as a pure state machine, and the one loop
  that drives it with a clock (real in a live run, simulated in ``simulate``);
- ``controlplane``: what a push computes (baseline, optimized, incremental);
- ``simulate``: the discrete-event simulation driven by measured push and apply times;
- ``sink``: where a push goes (``ConfigSink``), and ``probes``: activation and disruption;
- ``live``: a live run against a real Envoy; ``summary``: records, JSON and table lines.
"""
