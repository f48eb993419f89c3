"""``harness list``: the registered tasks with their metrics, main metric and direction."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="list the registered tasks, objectives and synonym selectors")
    p.set_defaults(func=run)


def run(args) -> int:
    from tabulate import tabulate

    from harness.plugins import load_plugins
    from harness.task import TASKS

    load_plugins()
    rows = []
    for name in TASKS:
        t = TASKS.get(name)
        metrics = ", ".join(m.name + {True: "↑", False: "↓", None: ""}[m.higher_is_better] for m in t.metrics)
        rows.append([name, t.main_metric, metrics, t.description])
    print(tabulate(rows, headers=["task", "main", "metrics", "description"]))
    from harness.registry import REGISTRIES

    print()
    for kind, registry in sorted(REGISTRIES.items()):
        if registry is not TASKS and registry.listed and len(registry):
            print(f"{kind}s: {', '.join(registry)}")
    return 0
