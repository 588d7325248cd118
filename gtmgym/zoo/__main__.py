"""``python -m gtmgym.zoo``: rewrite the rl-zoo3 files from the tuned defaults."""

from gtmgym.zoo import write_hyperparams

for path in write_hyperparams():
    print(path)
