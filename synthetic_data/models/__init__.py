"""One time-series model per series, all driven by the shared daily latent state (`latent.py`).

`latent` simulates the body (sleep, HRV, heart rate, steps, pain, mood) day by day; `messiness` decides
what the patient and their devices fail to record; `pain`, `wellbeing`, `gauges` and `vitals` turn both
into records in the API's shapes.
"""
