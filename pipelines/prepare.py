"""DVC stage `prepare`: verify and parse GoEmotions, write parquet tables and the data report."""

from _common import stage_params
from emoheal.data.prepare import prepare_goemotions
from emoheal.utils.io import write_json

if __name__ == "__main__":
    params = stage_params(__doc__)
    report = prepare_goemotions(params["paths"]["raw"], params["paths"]["prepared"],
                                params["data"]["limit"], params["seed"])
    write_json(f"{params['paths']['metrics']}/data.json", report)
    print({name: s["rows"] for name, s in report["splits"].items()})
