"""What every kind of job shares (translation, training, evaluation, snapshot builds, studies): jobs/lifecycle.py."""
