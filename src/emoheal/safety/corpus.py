"""The risk corpus (data/safety/): categories, paraphrase families, the frozen held-out file.

Standard library only, so the files can be checked anywhere (`python -m emoheal.safety.corpus
check`). Errors name the file, the row as a spreadsheet shows it (header = row 1) and the
column, like the knowledge graph's validator.

Layout (see data/safety/README.md for the labelling protocol):
- `categories.csv`: each category's label (`risk`, `ambiguous`, `safe` = a curated hard negative, or
  `ordinary` = everyday text the stage samples from GoEmotions train), its C-SSRS screener
  item, the level the screen should reach at least (`high`, `check_in` or `none`);
- `corpus/<category>.csv`: the training corpus, rows `id,family,category,lang,style,text`;
  a family is one idea said several ways (all its rows fall in the same cross-validation fold);
- `heldout.csv`: the same columns, written before any model or threshold was tuned, never used
  for a choice; its sha256 is frozen in `heldout.sha256`.
"""

from __future__ import annotations

import csv
import hashlib
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COLUMNS = ("id", "family", "category", "lang", "style", "text")
LABELS = ("risk", "ambiguous", "safe", "ordinary")
EXPECTED = ("high", "check_in", "none")
LANGS = ("en", "zh")
STYLES = ("plain", "casual", "slang", "typo", "long", "second_sentence", "indirect", "formal", "terse")
MAX_CHARS = 600
_CJK = re.compile(r"[\u4e00-\u9fff]")


class CorpusError(ValueError):
    """One or more rows of the risk corpus break the protocol; the message lists them all."""


@dataclass(frozen=True)
class Category:
    name: str
    label: str
    cssrs: str
    expected: str
    description: str

    @property
    def positive(self) -> bool:
        """Risk and ambiguous texts should reach at least a check-in: the classifier's positives."""
        return self.label in ("risk", "ambiguous")


@dataclass(frozen=True)
class Example:
    id: str
    family: str
    category: str
    lang: str
    styles: tuple[str, ...]
    text: str
    source: str  # the file it came from (relative name), for error messages and reports


def read_rows(path: Path) -> list[tuple[int, dict]]:
    """(row number as a spreadsheet shows it, row) for a CSV whose leading `#` lines are a header note."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    with open(path, encoding="utf-8", newline="") as handle:
        lines = handle.read().splitlines(keepends=True)
    skipped = 0
    while skipped < len(lines) and lines[skipped].startswith("#"):
        skipped += 1
    reader = csv.DictReader(lines[skipped:])
    header = tuple(reader.fieldnames or ())
    rows = [(skipped + i + 2, row) for i, row in enumerate(reader)]
    return [(skipped + 1, {"__header__": header})] + rows


def load_categories(folder: str | Path) -> dict[str, Category]:
    path = Path(folder) / "categories.csv"
    out: dict[str, Category] = {}
    problems = []
    for line, row in read_rows(path)[1:]:
        if row["label"] not in LABELS or row["expected"] not in EXPECTED or row["category"] in out:
            problems.append(f"{path}:{line}: bad label, expected level or a repeated category {row['category']!r}")
            continue
        out[row["category"]] = Category(row["category"], row["label"], row["cssrs"], row["expected"],
                                        row["description"])
    if problems:
        raise CorpusError("\n".join(problems))
    return out


def normalised_text(text: str) -> str:
    """For finding duplicates: NFKC, lower case, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def check_rows(path: Path, categories: dict[str, Category], heldout: bool) -> tuple[list[Example], list[str]]:
    rows = read_rows(path)
    line, head = rows[0]
    problems: list[str] = []
    if head["__header__"] != COLUMNS:
        return [], [f"{path}:{line}: header must be {','.join(COLUMNS)}, not {','.join(head['__header__'])}"]
    family_re = re.compile(r"^H-[a-z_]+-\d{3}$" if heldout else r"^[a-z_]+-\d{3}$")
    examples = []
    for line, row in rows[1:]:
        where = f"{path.name}:{line}"
        if None in row or any(v is None for v in row.values()):
            problems.append(f"{where}: expected {len(COLUMNS)} columns")
            continue
        text, family, category = row["text"], row["family"], row["category"]
        bad = []
        if category not in categories:
            bad.append(f"category: unknown {category!r}")
        if not family_re.match(family):
            bad.append(f"family: {family!r} is not {'H-' if heldout else ''}<category>-<3 digits>")
        elif family.removeprefix("H-").rsplit("-", 1)[0] != category:
            bad.append(f"family: {family!r} does not belong to category {category!r}")
        if not re.match(rf"^{re.escape(family)}\.\d+$", row["id"]):
            bad.append(f"id: {row['id']!r} is not <family>.<n>")
        if row["lang"] not in LANGS:
            bad.append(f"lang: {row['lang']!r} is not one of {', '.join(LANGS)}")
        elif (row["lang"] == "zh") != bool(_CJK.search(text)):
            bad.append(f"lang: {row['lang']!r} does not match the text's script")
        styles = tuple(s for s in row["style"].split(";") if s)
        unknown = [s for s in styles if s not in STYLES]
        if not styles or unknown:
            bad.append(f"style: {row['style']!r} (use {', '.join(STYLES)}; several with ';')")
        if not text.strip() or len(text) > MAX_CHARS or "\n" in text or text != text.strip():
            bad.append(f"text: empty, longer than {MAX_CHARS} characters, multi-line or padded")
        if bad:
            problems.extend(f"{where}: {b}" for b in bad)
            continue
        examples.append(Example(row["id"], family, category, row["lang"], styles, text, path.name))
    return examples, problems


def _check_whole(examples: list[Example], min_family: int) -> list[str]:
    problems = []
    ids = Counter(e.id for e in examples)
    problems += [f"id {i!r} appears {n} times" for i, n in ids.items() if n > 1]
    texts: dict[str, str] = {}
    for e in examples:
        key = normalised_text(e.text)
        if key in texts:
            problems.append(f"{e.source}: {e.id}: the same text as {texts[key]}")
        texts.setdefault(key, e.id)
    sizes = Counter(e.family for e in examples)
    problems += [f"family {f!r} has {n} text(s); at least {min_family}" for f, n in sizes.items() if n < min_family]
    homes = {}
    for e in examples:
        if homes.setdefault(e.family, e.source) != e.source:
            problems.append(f"family {e.family!r} is split over {homes[e.family]} and {e.source}")
    return problems


def load_corpus(folder: str | Path, min_family: int = 3) -> list[Example]:
    """Every example of `corpus/*.csv`, checked; raises CorpusError listing every problem."""
    folder = Path(folder)
    categories = load_categories(folder)
    files = sorted((folder / "corpus").glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"{folder / 'corpus'} holds no CSV files: the risk corpus is missing")
    examples, problems = [], []
    for path in files:
        found, bad = check_rows(path, categories, heldout=False)
        examples += found
        problems += bad
    problems += _check_whole(examples, min_family)
    if problems:
        raise CorpusError(f"{len(problems)} problem(s) in the risk corpus:\n" + "\n".join(problems))
    return examples


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_heldout(folder: str | Path, check_frozen: bool = True) -> list[Example]:
    """The frozen held-out file. With `check_frozen`, its sha256 must equal `heldout.sha256`:
    an edited held-out file is no longer the one written before tuning."""
    folder = Path(folder)
    path = folder / "heldout.csv"
    if check_frozen:
        frozen = (folder / "heldout.sha256").read_text(encoding="utf-8").split()[0]
        if file_sha256(path) != frozen:
            raise CorpusError(f"{path} differs from the frozen version (sha256 {frozen[:12]}… in heldout.sha256): "
                              "the held-out file is never edited; add new statements to a new held-out file")
    examples, problems = check_rows(path, load_categories(folder), heldout=True)
    problems += _check_whole(examples, min_family=1)
    if problems:
        raise CorpusError(f"{len(problems)} problem(s) in {path}:\n" + "\n".join(problems))
    return examples


def leaks(corpus: list[Example], heldout: list[Example]) -> list[str]:
    """Held-out texts that also stand in the training corpus (after normalisation)."""
    seen = {normalised_text(e.text) for e in corpus}
    return [e.id for e in heldout if normalised_text(e.text) in seen]


def summary(examples: list[Example]) -> str:
    by_cat = Counter(e.category for e in examples)
    fams = {c: len({e.family for e in examples if e.category == c}) for c in by_cat}
    langs = Counter(e.lang for e in examples)
    styles = Counter(s for e in examples for s in e.styles)
    lines = [f"{len(examples)} texts, {sum(fams.values())} families; languages {dict(langs)}",
             "styles " + ", ".join(f"{k} {v}" for k, v in styles.most_common())]
    lines += [f"  {c:<18} {n:>5} texts {fams[c]:>4} families" for c, n in sorted(by_cat.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m emoheal.safety.corpus check [FOLDER | FILE.csv]`: validate the corpus and the held-out
    file (or one file)."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "check":
        print("usage: python -m emoheal.safety.corpus check [data/safety]", file=sys.stderr)
        return 2
    target = Path(args[1] if len(args) > 1 else "data/safety")
    if target.suffix == ".csv":  # one file, as a writer checks their own part
        heldout = target.name.startswith("heldout")
        examples, problems = check_rows(target, load_categories(target.parent.parent if not heldout
                                                                else target.parent), heldout)
        problems += _check_whole(examples, 1 if heldout else 3)
        print("\n".join(problems) if problems else summary(examples))
        return 1 if problems else 0
    folder = target
    status = 0
    try:
        corpus = load_corpus(folder)
        print("corpus:", summary(corpus))
    except (CorpusError, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if (folder / "heldout.csv").is_file():
        try:
            held = load_heldout(folder, check_frozen=(folder / "heldout.sha256").is_file())
            print("held-out:", summary(held))
            leaked = leaks(corpus, held)
            if leaked:
                print(f"held-out texts also in the corpus: {', '.join(leaked)}", file=sys.stderr)
                status = 1
        except (CorpusError, FileNotFoundError) as exc:
            print(exc, file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())


def sample_families(examples: list[Example], per_category: int | None, seed: int) -> list[Example]:
    """At most `per_category` paraphrase families of each category, drawn with the seed, each family
    whole (grouped cross-validation keeps families together); all of them when None."""
    if per_category is None:
        return examples
    families: dict[str, set[str]] = {}
    for example in examples:
        families.setdefault(example.category, set()).add(example.family)
    rng = np.random.default_rng(seed)
    keep: set[tuple[str, str]] = set()
    for category in sorted(families):
        names = sorted(families[category])
        chosen = rng.choice(len(names), size=min(per_category, len(names)), replace=False)
        keep |= {(category, names[i]) for i in sorted(chosen)}
    return [e for e in examples if (e.category, e.family) in keep]
