FROM python:3.12
RUN pip install flask==3.0
RUN pip install --no-cache-dir requests==2.0
