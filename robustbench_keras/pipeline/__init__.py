"""The commands' workflows, one module each: `run` (run SUITE), `submit` (submit MODEL), `verify`
(leaderboard verify), `remove` (leaderboard remove). They share `models` (train or load the zoo, with
entries), `scoring` (the suite's scorers in order) and `cleanup` (what a removed entry leaves behind);
no workflow imports another.
"""
