"""The workshop page: `pcnsim app` runs this file with Streamlit (`streamlit run page.py`).

It draws widgets and calls `pcnsim.app.logic`, which makes every decision. Runs go to the
outputs directory (PCNSIM_APP_OUTPUTS, default `outputs`) exactly as `pcnsim run` writes them.
How to use the page: docs/app.md.
"""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from pcnsim.app import logic
from pcnsim.errors import PcnsimError, ScenarioError

OUTPUTS = Path(os.environ.get("PCNSIM_APP_OUTPUTS", "outputs"))
FIGURES = (("cd_hours.png", "The clinical director's week"), ("delivery.png", "Demand and delivery"),
           ("retention.png", "Retention"))
PRECISION_LABELS = {"quick": "Quick (for the room)", "precise": "More precise (slower)"}



def _pool():
    """Worker processes started with the app (the model loaded in each), shared by every run of
    the session: a what-if pays no start-up. Kept by `logic.warm_pool` (not Streamlit's cache), which
    replaces a pool whose worker died."""
    return logic.warm_pool()


@st.cache_resource
def _starts() -> dict[str, logic.Start]:
    return {s.label: s for s in logic.starting_points()}


def _widget_key(lever: logic.Lever) -> str:
    return f"lever:{lever.key}"


def _reset_levers() -> None:
    """The controls take the values of the chosen starting scenario."""
    start = _starts()[st.session_state["start"]]
    for key, value in logic.lever_values(start.scenario).items():
        lever = next(lv for lv in logic.LEVERS if lv.key == key)
        st.session_state[_widget_key(lever)] = float(value) if lever.kind == "float" else value


def _first_visit(starts: dict[str, logic.Start]) -> None:
    """Widgets start from the address (so a reload keeps the inputs), else from the first scenario."""
    params = st.query_params
    st.session_state["start"] = params.get("start") if params.get("start") in starts else next(iter(starts))
    st.session_state["precision"] = params.get("precision") if params.get("precision") in PRECISION_LABELS \
        else "quick"
    _reset_levers()
    start_values = logic.lever_values(starts[st.session_state["start"]].scenario)
    refused = []
    for lever in logic.LEVERS:
        if lever.key in params:
            try:   # checked as `--set` is: a value out of a widget's range is said, not a traceback
                st.session_state[_widget_key(lever)] = logic.query_value(lever, params[lever.key],
                                                                         start_values[lever.key])
            except PcnsimError as err:
                refused.append(str(err))
    st.session_state["_refused"] = refused
    st.session_state["_ready"] = True


def _lever_widget(lever: logic.Lever, start_value) -> None:
    key = _widget_key(lever)
    if lever.kind == "bool":
        st.checkbox(lever.label, key=key, help=lever.help or None)
    elif lever.kind == "choice":
        st.radio(lever.label, lever.choices, key=key, horizontal=True, help=lever.help or None)
    elif lever.kind == "int":
        low, high = lever.bounds(start_value)
        st.slider(lever.label, int(low), int(high), step=int(lever.step), key=key, help=lever.help or None)
    else:
        low, high = lever.bounds(float(start_value))
        st.slider(lever.label, float(low), float(high), step=float(lever.step), key=key,
                  help=lever.help or None)


def _show_run_figures(folder: Path, who: str) -> None:
    columns = st.columns(len(FIGURES))
    for column, (name, title) in zip(columns, FIGURES):
        path = folder / "figures" / name
        if path.exists():
            column.image(str(path), caption=f"{title} ({who})")


def _side_by_side(base: Path, what: Path) -> None:
    """Each figure of the starting scenario beside the what-if's, half the page wide each (readable
    on a projector, not thumbnails)."""
    for name, title in FIGURES:
        left, right = st.columns(2)
        for column, folder, who in ((left, base, "starting scenario"), (right, what, "what-if")):
            path = folder / "figures" / name
            if path.exists():
                column.image(str(path), caption=f"{title} ({who})", width="stretch")


def _downloads(folder: Path, who: str) -> None:
    left, right = st.columns(2)
    left.download_button(f"Download the {who} run folder (zip)", logic.zip_folder(folder),
                         file_name=f"{folder.name}.zip", mime="application/zip", key=f"zip:{folder}")
    report = folder / "report.html"
    if report.exists():
        right.download_button(f"Download the {who} report.html", report.read_bytes(),
                              file_name=f"{folder.name}-report.html", mime="text/html", key=f"html:{folder}")
    st.caption(f"Run folder: `{folder}`")


def _change_text(diff: dict) -> str:
    labels = {lv.key: lv.label for lv in logic.LEVERS}
    if not diff:
        return "no changes (the starting scenario itself)"
    return "; ".join(f"{labels.get(k, k)}: {old} → {new}" for k, (old, new) in diff.items())


def main() -> None:
    """The page, top to bottom (Streamlit reruns it on every input)."""
    st.set_page_config(page_title="pcnsim workshop", layout="wide")
    _pool()          # the session's workers start now, loading the model while the room sets the controls
    starts = _starts()
    if "_ready" not in st.session_state:
        _first_visit(starts)
    for message in st.session_state.get("_refused", []):
        st.warning(message + " That control keeps the starting scenario's value.")

    # ---- the controls ---------------------------------------------------------------------------------
    with st.sidebar:
        st.header("Inputs")
        st.selectbox("Starting scenario", list(starts), key="start", on_change=_reset_levers,
                     help="A bundled scenario or workshop step (a sweep: one of its points).")
        start = starts[st.session_state["start"]]
        start_values = logic.lever_values(start.scenario)
        for lever in logic.LEVERS:
            _lever_widget(lever, start_values[lever.key])
        st.button("Reset to the starting scenario", on_click=_reset_levers)
        st.radio("Precision", list(PRECISION_LABELS), key="precision", format_func=PRECISION_LABELS.get)

    precision = logic.precisions()[st.session_state["precision"]]
    values = {lever.key: st.session_state[_widget_key(lever)] for lever in logic.LEVERS}

    st.title("pcnsim: what if?")
    question = getattr(getattr(start.scenario, "report", None), "question", "")   # a scenario's `report:` key
    st.markdown(f"**Starting scenario:** `{start.label}`" + (f". **Question:** {question}" if question else ""))
    with st.expander("About the starting scenario"):
        st.markdown(start.description)

    error = None
    try:
        what = logic.what_if(start.scenario, values)
        diff = logic.changes(start.scenario, values)
        reps = min(precision.replications_for(start.scenario), precision.replications_for(what))
        base_run_scenario = logic.sized(start.scenario, precision, reps)
        what_run_scenario = logic.sized(what, precision, reps) if diff else None
    except ScenarioError as err:
        error = f"Error: {err}"
        diff = {}

    if error:
        st.error(error + " Nothing was run: change the controls.")
    else:
        st.markdown(f"**Changes:** {_change_text(diff)}")
        st.caption(f"Each run: {precision.describe(what)}. Both runs share their seed, so they are compared "
                   "replication by replication; inputs already run come from the outputs folder.")

    inputs = (st.session_state["start"], st.session_state["precision"], tuple(sorted(values.items(), key=str)))
    pressed = st.button("Run", type="primary", disabled=bool(error))

    if not error:
        cached_base = logic.find_run(base_run_scenario, OUTPUTS)
        cached_what = logic.find_run(what_run_scenario, OUTPUTS) if what_run_scenario is not None else None
        all_cached = cached_base is not None and (what_run_scenario is None or cached_what is not None)
        if pressed or all_cached:
            bar = st.progress(0.0, text="Starting…") if not all_cached else None
            try:
                runs = []
                jobs = [("starting scenario", base_run_scenario)]
                if what_run_scenario is not None:
                    jobs.append(("what-if", what_run_scenario))
                for who, scenario in jobs:
                    def progress(done: int, total: int, who=who) -> None:
                        bar.progress(min(1.0, done / max(total, 1)), text=f"Running the {who}: {done} of {total} "
                                                                             "replications")
                    run_data, _ = logic.run_scenario(scenario, OUTPUTS, precision, progress if bar else None,
                                                     pool=_pool(), report=False)
                    runs.append(str(run_data.folder))
                st.session_state["shown"] = {"inputs": inputs, "base": runs[0],
                                             "what": runs[1] if len(runs) > 1 else None,
                                             "start": start.label, "diff": diff,
                                             "focus": logic.focus_metrics(start.scenario),
                                             "precision": precision.describe(what)}
                st.query_params.from_dict({"start": st.session_state["start"],
                                           "precision": st.session_state["precision"],
                                           **{k: str(new) for k, (_, new) in diff.items()}})
            except logic.Cancelled as err:
                st.info(f"Stopped: {err}.")
            except PcnsimError as err:
                st.error(f"Error: {err}")
            if bar is not None:
                bar.empty()

    # ---- the answer -----------------------------------------------------------------------------------
    shown = st.session_state.get("shown")
    if shown is None:
        if not error:
            st.info("Move the controls, then press **Run**.")
    else:
        if shown["inputs"] != inputs:
            st.warning("The controls have changed since these results were run: they belong to the inputs "
                       "listed just below. Press **Run** for the new inputs.")
        base_run = logic.loaded(shown["base"])
        what_run = logic.loaded(shown["what"]) if shown["what"] else None
        answer_box = st.container(key="answer")
        with answer_box:      # the answer first: "In short", then the focus metrics side by side
            for sentence in logic.short_answer(base_run, what_run, shown["focus"], question):
                st.markdown(f"##### {sentence}")
            st.table(logic.focus_rows(base_run, what_run, shown["focus"]))
        st.caption(f"These results: `{shown['start']}`; {_change_text(shown['diff'])}; {shown['precision']}.")
        with st.expander("How the difference was estimated, and every difference beyond the noise"):
            st.markdown("\n".join(f"- {s.strip()[2:]}" if s.startswith("  -") else f"\n{s}\n" for s in
                                   logic.answer(base_run, what_run, "the starting scenario")))
        shown_folder = Path(shown["what"] or shown["base"])
        who = "what-if" if shown["what"] else "starting scenario"
        # the figures and report.html are drawn now, after the answer is on the screen
        with st.spinner("Drawing the figures…"):
            for folder in {shown["base"], shown["what"]} - {None}:
                logic.ensure_report(folder)
        if what_run is not None:
            st.subheader("Figures: the starting scenario (left) and the what-if (right)")
            _side_by_side(Path(shown["base"]), shown_folder)
            with st.expander("The what-if and the starting scenario in the report's words"):
                st.markdown("**The what-if.** " + " ".join(logic.answer(what_run, None, "")))
                st.markdown("**The starting scenario.** " + " ".join(logic.answer(base_run, None, "")))
        else:
            st.subheader("Figures (starting scenario)")
            _show_run_figures(shown_folder, who)
        st.subheader("Downloads")
        _downloads(shown_folder, who)
        if shown["what"]:
            _downloads(Path(shown["base"]), "starting scenario")


# Streamlit runs this file as __main__. Worker processes of a "more precise" run start by
# importing it as __mp_main__ (multiprocessing's spawn): there the page must not be drawn.
if __name__ == "__main__":
    main()
