"""How the command line answers the failures it understands: ONE table from error type to exit
code and message, which `main()` consults around every command. An error the table does not
know is a bug and keeps its traceback."""

from __future__ import annotations

EXIT_FAILURE = 1  # something the command needs is missing or broken: a model, a graph, a file
EXIT_USAGE = 2  # the caller asked for something the command refuses: a bad text, flag or input

_ERROR = "emoheal: error: {exc}"


class CommandError(Exception):
    """A failure a command finds itself (an input file that is missing or not UTF-8): exit 1."""


class UsageError(Exception):
    """Input a command refuses before doing any work (unreadable --emotions, no params file): exit 2."""


# Keyed by "module.Class", not by the classes, so that this table imports nothing: several of
# these errors live in modules that import torch, transformers, pandas or Hydra, and `emoheal
# params` must start as fast as before. `answer_for` walks the raised error's class hierarchy, so
# the most specific entry wins whatever the order here (ModelFolderError is a FileNotFoundError).
KNOWN_ERRORS: dict[str, tuple[int, str]] = {
    "emoheal.cli.errors.UsageError": (EXIT_USAGE, _ERROR),
    "emoheal.cli.errors.CommandError": (EXIT_FAILURE, _ERROR),
    # the input: the caller can correct it
    "emoheal.emotion.predictor.InvalidTextError": (EXIT_USAGE, _ERROR),
    "emoheal.session.runner.SessionInputError": (EXIT_USAGE, _ERROR),
    "emoheal.kg.planner.PlanInputError": (EXIT_USAGE, _ERROR),
    "emoheal.monitoring.monitor.MonitorInputError": (EXIT_USAGE, _ERROR),  # monitor: 1 means a test failed
    "emoheal.store.engine.StoreURLError": (EXIT_USAGE, _ERROR),  # --store or EMOHEAL_STORE_URL
    "hydra.errors.HydraException": (EXIT_USAGE, _ERROR),  # a bad override to `emoheal params`
    "emoheal.settings.base.ParamsError": (EXIT_USAGE, _ERROR),  # a params file with a bad key or value
    "emoheal.encoder.clamp3.verify.FixtureError": (EXIT_USAGE, _ERROR),  # the --fixture folder given
    "emoheal.encoder.clamp3.checkpoint.CheckpointError": (EXIT_USAGE, _ERROR),  # the weights in that folder
    # something the command needs is missing or broken (a model, the graph, the index, pretrained
    # weights, ffmpeg, a registry version): most messages say how to get or rebuild it
    "builtins.FileNotFoundError": (EXIT_FAILURE, _ERROR),
    "emoheal.emotion.artifacts.ModelFolderError": (EXIT_FAILURE, _ERROR),
    "emoheal.emotion.backbone.BackboneUnavailableError": (EXIT_FAILURE, _ERROR),
    "emoheal.kg.graph.GraphFileError": (EXIT_FAILURE, _ERROR),
    "emoheal.retrieval.index.IndexLoadError": (EXIT_FAILURE, _ERROR),
    "emoheal.safety.encoder.SafetyModelError": (EXIT_FAILURE, _ERROR),
    "emoheal.session.mix.MixError": (EXIT_FAILURE, _ERROR),
    "emoheal.bento.store.BundleError": (EXIT_FAILURE, _ERROR),
    # its message is already a headed list of every problem found, file, row and column
    "emoheal.kg.rules.KGValidationError": (EXIT_FAILURE, "emoheal: {exc}"),
}


def answer_for(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, message for stderr) for an error in the table, else None."""
    for cls in type(exc).__mro__:
        known = KNOWN_ERRORS.get(f"{cls.__module__}.{cls.__qualname__}")
        if known is not None:
            code, template = known
            return code, template.format(exc=exc)
    return None
