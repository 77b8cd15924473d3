"""Documents people work from: the model report a validator signs (`model/`), the weekly portfolio report
and the spreadsheets officers download (`portfolio/`, `xlsx.py`), built from the registry and the database."""
