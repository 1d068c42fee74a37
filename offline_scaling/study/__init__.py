"""The study: sweep grids and runs, results tables, figures and the report.

`grid` names the sweeps and their points, `stages` makes a PyBullet sweep's
data (expert zoo, episodes), `sweep` runs the points not yet done
(`archive` keeps the finished ones where a commit can), `results`
reads them back as pandas tables with 95% CIs over seeds (`intervals`, which
also says when a claim holds), `figures` and `fits` draw and fit them,
`report` writes `report.md`, `advise` says whether a bigger model or better
data pays more, `best_experts` replays each level's best expert, and
`conditioning` plays finished RCI runs on a finer grid of conditioners.
"""
