"""The study: sweep grids and runs, results tables, figures and the report.

`grid` names the sweeps and their points, `stages` makes a PyBullet sweep's
data (expert zoo, episodes), `sweep` runs the points not yet done, `results`
reads them back as pandas tables, `figures` and `fits` draw and fit them,
`report` writes `report.md`, and `advise` says whether a bigger model or better
data pays more.
"""
