"""An executable study of small convolutional networks on MNIST: data, models, training, metrics, plots, execution."""
