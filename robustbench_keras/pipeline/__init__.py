"""The commands' workflows, one module each: `run` (run SUITE), `submit` (submit MODEL), `verify`
(leaderboard verify). They share `models` (train or load the zoo, with entries) and `scoring`
(the suite's scorers in order); no workflow imports another.
"""
