"""Serving: what the app needs to run behind a public link, apart from its tabs — where heavy
work runs (`gpu`)."""
