"""Records what Alembic itself plans on graph shapes, as fixtures for cargo-migrate's planner.

Each shape is only ids, parents, depends_on and branch labels (no migration code). For every
revision of every shape, Alembic's RevisionMap computes:

- the revisions an upgrade from an empty database to that revision applies, and
- the revisions a downgrade to that revision removes from a database at every head,

with the same calls `alembic upgrade <rev>` and `alembic downgrade <rev>` make
(`iterate_revisions(..., implicit_base=True)` and `select_for_downgrade=True`).

Run from the repository root:

    python3 -m venv /tmp/alembic-venv && /tmp/alembic-venv/bin/pip install alembic==1.13.3
    /tmp/alembic-venv/bin/python tests/alembic/record.py > tests/alembic/fixtures.json

The test suite reads fixtures.json; it does not need Python.
"""

import json
import sys

import alembic
from alembic.script.revision import Revision, RevisionMap


def rev(id, parents=(), depends=(), labels=()):
    return {"id": id, "parents": list(parents), "depends_on": list(depends), "labels": list(labels)}


# Shapes as projects grow them: a plain chain, two developers' branches merged, several bases,
# and the expand/contract pattern where a contract branch depends on expand revisions.
SHAPES = {
    "linear": [rev("a"), rev("b", ["a"]), rev("c", ["b"]), rev("d", ["c"])],
    "diamond_merge": [
        rev("a"), rev("b", ["a"]), rev("x", ["a"]), rev("y", ["x"]), rev("m", ["b", "y"]), rev("n", ["m"]),
    ],
    "two_bases_merged": [rev("a"), rev("b", ["a"]), rev("p"), rev("q", ["p"]), rev("m", ["b", "q"])],
    "expand_contract": [
        rev("e1", labels=["expand"]),
        rev("e2", ["e1"]),
        rev("e3", ["e2"]),
        rev("c1", labels=["contract"], depends=["e1"]),
        rev("c2", ["c1"], depends=["e2"]),
        rev("c3", ["c2"], depends=["e3"]),
    ],
    "dependency_on_a_side_branch": [
        rev("a"), rev("b", ["a"]), rev("c", ["b"]),
        rev("x", ["a"], labels=["side"]), rev("y", ["x"], depends=["b"]), rev("z", ["y"]),
        rev("m", ["c", "z"]),
    ],
    "branch_point_with_dependency": [
        rev("a"), rev("b", ["a"]), rev("c", ["b"]), rev("d", ["c"]),
        rev("s1", ["b"], labels=["feature"], depends=["c"]), rev("s2", ["s1"]),
    ],
}


def revision_map(shape):
    def generate():
        for r in shape:
            down = tuple(r["parents"]) if len(r["parents"]) > 1 else (r["parents"][0] if r["parents"] else None)
            yield Revision(
                r["id"],
                down,
                dependencies=tuple(r["depends_on"]) or None,
                branch_labels=tuple(r["labels"]) or None,
            )

    return RevisionMap(generate)


def main():
    out = {"alembic": alembic.__version__, "shapes": []}
    for name, shape in SHAPES.items():
        checks = []
        for r in shape:
            target = r["id"]
            rmap = revision_map(shape)
            up = sorted(x.revision for x in rmap.iterate_revisions(target, "base", implicit_base=True))
            rmap = revision_map(shape)
            down = sorted(
                x.revision for x in rmap.iterate_revisions(rmap.heads, target, select_for_downgrade=True)
            )
            checks.append({"target": target, "upgrade_applies": up, "downgrade_removes": down})
        out["shapes"].append({"name": name, "revisions": shape, "checks": checks})
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
