"""Documents people work from: the model report a validator signs (`model.py`), the weekly portfolio report
and the spreadsheets officers download (`portfolio.py`, `xlsx.py`), built from the registry and the database."""
