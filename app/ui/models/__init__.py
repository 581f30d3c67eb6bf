"""The Models panel: installed versions with their signatures and model cards; import, activate,
roll back and set a challenger.
"""
